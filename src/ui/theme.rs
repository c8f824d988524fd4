//! Design tokens: every colour and size the UI uses comes from here.

use egui::Color32;

use crate::core::model::KeyType;
use crate::state::Level;

pub use egui_material_icons::MaterialIcon;
pub use egui_material_icons::icons::{
    ICON_ACCOUNT_TREE as ICON_TREE, ICON_ADD, ICON_ANALYTICS, ICON_ARROW_DOWNWARD as ICON_DOWN,
    ICON_ARROW_UPWARD as ICON_UP, ICON_CHEVRON_RIGHT, ICON_CLEANING_SERVICES, ICON_CLOSE,
    ICON_CONTENT_COPY, ICON_DELETE, ICON_DELETE_FOREVER, ICON_DELETE_SWEEP, ICON_DNS,
    ICON_DRIVE_FILE_RENAME_OUTLINE, ICON_EDIT, ICON_EXPAND_MORE, ICON_FAST_FORWARD, ICON_FILE_OPEN,
    ICON_FILE_SAVE, ICON_FOLDER_OPEN, ICON_HISTORY, ICON_KEY, ICON_LIST, ICON_LOGIN,
    ICON_MONITORING, ICON_PLAY_ARROW, ICON_PODCASTS, ICON_REFRESH, ICON_SAVE, ICON_SEARCH,
    ICON_STOP, ICON_TERMINAL, ICON_TIMER, ICON_TIMER_OFF, ICON_UNDO, ICON_UPLOAD_FILE,
    ICON_VISIBILITY,
};

use crate::config::uistate::ThemeChoice;

/// The one accent colour: selection, the active sort, the focused field.
pub const ACCENT: Color32 = Color32::from_rgb(0x2f, 0x81, 0xf7);

/// Adds the icon font (call once, before the first frame that shows an icon).
pub fn install_fonts(ctx: &egui::Context) {
    egui_material_icons::initialize(ctx);
}

/// The accent colour as the current theme draws it.
#[must_use]
pub fn accent(ui: &egui::Ui) -> Color32 {
    ui.visuals().selection.stroke.color
}

/// Light, dark or the system's; one accent colour and roomier spacing in both.
pub fn apply(ctx: &egui::Context, choice: ThemeChoice) {
    ctx.set_theme(match choice {
        ThemeChoice::System => egui::ThemePreference::System,
        ThemeChoice::Dark => egui::ThemePreference::Dark,
        ThemeChoice::Light => egui::ThemePreference::Light,
    });
    for theme in [egui::Theme::Dark, egui::Theme::Light] {
        ctx.style_mut_of(theme, |style| {
            let dark = theme == egui::Theme::Dark;
            let v = &mut style.visuals;
            v.selection.bg_fill = if dark {
                ACCENT.gamma_multiply(0.55)
            } else {
                ACCENT.gamma_multiply(0.35)
            };
            v.selection.stroke.color = if dark {
                Color32::from_rgb(0x8a, 0xb8, 0xff)
            } else {
                Color32::from_rgb(0x0b, 0x4e, 0xa2)
            };
            v.hyperlink_color = v.selection.stroke.color;
            v.widgets.hovered.bg_stroke.color = ACCENT;
            v.text_edit_bg_color = Some(if dark {
                Color32::from_gray(18)
            } else {
                Color32::from_gray(252)
            });
            style.spacing.item_spacing = egui::vec2(8.0, 6.0);
            style.spacing.button_padding = egui::vec2(7.0, 3.0);
        });
    }
}

/// A small frameless button that is only an icon; `label` is its name for screen readers and
/// its tooltip.
pub fn icon_only(ui: &mut egui::Ui, icon: MaterialIcon, label: &str) -> egui::Response {
    let r = ui.add(egui::Button::new(icon.rich_text()).frame(false));
    let enabled = ui.is_enabled();
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, label));
    r.on_hover_text(label)
}

/// Height of a key list row.
pub const ROW_HEIGHT: f32 = 20.0;
/// Width of the profiles panel.
pub const PROFILES_WIDTH: f32 = 200.0;
/// Indentation per tree level.
pub const TREE_INDENT: f32 = 14.0;

/// A button with an icon before its words. Screen readers (and tests) know it by its words
/// alone; `shortcut`, when there is one, is named in its tooltip.
pub fn icon_button(
    ui: &mut egui::Ui,
    icon: MaterialIcon,
    text: &str,
    shortcut: Option<&str>,
) -> egui::Response {
    let r = ui.add(egui::Button::new((icon.rich_text(), text)));
    let enabled = ui.is_enabled();
    let label = text.to_owned();
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, &label));
    match shortcut {
        Some(keys) => r.on_hover_text(format!("{text} ({keys})")),
        None => r,
    }
}

/// Accent colour of a value type badge.
#[must_use]
pub fn type_color(t: &KeyType) -> Color32 {
    match t {
        KeyType::String => Color32::from_rgb(0x4c, 0x9a, 0xff),
        KeyType::Hash => Color32::from_rgb(0xb3, 0x7f, 0xeb),
        KeyType::List => Color32::from_rgb(0x3c, 0xb3, 0x71),
        KeyType::Set => Color32::from_rgb(0xe0, 0xa0, 0x30),
        KeyType::ZSet => Color32::from_rgb(0xe0, 0x60, 0x60),
        KeyType::Stream => Color32::from_rgb(0x30, 0xb8, 0xc0),
        KeyType::Json => Color32::from_rgb(0xd0, 0x80, 0xb0),
        KeyType::Other(_) => Color32::GRAY,
    }
}

/// Colour of a notice.
#[must_use]
pub fn level_color(level: Level) -> Color32 {
    match level {
        Level::Info => Color32::from_rgb(0x4c, 0x9a, 0xff),
        Level::Warning => Color32::from_rgb(0xe0, 0xa0, 0x30),
        Level::Error => Color32::from_rgb(0xe0, 0x50, 0x50),
    }
}

/// Colour for secondary text (counts, hints).
pub const MUTED: Color32 = Color32::from_gray(140);
/// Colour for success.
pub const OK: Color32 = Color32::from_rgb(0x3c, 0xb3, 0x71);

/// The colour of a profile's tag.
#[must_use]
pub fn tag_color(tag: crate::config::profiles::ColorTag) -> Color32 {
    use crate::config::profiles::ColorTag;
    match tag {
        ColorTag::Red => Color32::from_rgb(0xc6, 0x28, 0x28),
        ColorTag::Orange => Color32::from_rgb(0xe0, 0x7b, 0x1a),
        ColorTag::Yellow => Color32::from_rgb(0xc9, 0xa8, 0x17),
        ColorTag::Green => Color32::from_rgb(0x2e, 0x8b, 0x57),
        ColorTag::Blue => Color32::from_rgb(0x1f, 0x6f, 0xd1),
        ColorTag::Purple => Color32::from_rgb(0x7e, 0x57, 0xc2),
        ColorTag::Gray => Color32::from_gray(110),
    }
}

/// Colour of the `n`th series of a chart (the same position gets the same colour everywhere).
#[must_use]
pub fn series_color(n: usize) -> Color32 {
    const SERIES: [Color32; 5] = [
        Color32::from_rgb(0x4c, 0x9a, 0xff),
        Color32::from_rgb(0xb3, 0x7f, 0xeb),
        Color32::from_rgb(0xe0, 0xa0, 0x30),
        Color32::from_rgb(0xe0, 0x50, 0x50),
        Color32::from_rgb(0x3c, 0xb3, 0x71),
    ];
    SERIES[n % SERIES.len()]
}

/// A key type as a coloured label.
pub fn type_badge(ui: &mut egui::Ui, t: &crate::core::model::KeyType) {
    ui.label(
        egui::RichText::new(t.label())
            .color(type_color(t))
            .monospace(),
    );
}

/// How many monospace characters fit in `width`.
#[must_use]
pub fn chars_fitting(ui: &egui::Ui, width: f32) -> usize {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let char_width = ui.ctx().fonts_mut(|f| f.glyph_width(&font, 'M')).max(1.0);
    // A count of characters: rounding down is what is wanted.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = ((width - 12.0).max(0.0) / char_width) as usize;
    n.max(8)
}

/// Lays JSON out in colour: `egui_extras`' highlighter, memoized per text, so a big value is
/// coloured once, not every frame.
pub fn json_layouter(
    ui: &egui::Ui,
    text: &dyn egui::TextBuffer,
    wrap_width: f32,
) -> std::sync::Arc<egui::Galley> {
    let theme = egui_extras::syntax_highlighting::CodeTheme::from_style(ui.style());
    let mut job = egui_extras::syntax_highlighting::highlight(
        ui.ctx(),
        ui.style(),
        &theme,
        text.as_str(),
        "json",
    );
    job.wrap.max_width = wrap_width;
    ui.fonts_mut(|f| f.layout_job(job))
}
