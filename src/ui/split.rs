//! A split between two panes that keeps proportions: egui's side panels keep a width in
//! pixels, so after the window shrinks one pane could be left a few pixels wide. Here the
//! divider is a share of the width, dragged by the user, and both panes keep a minimum.

/// Width of the divider's grab area.
const GRIP: f32 = 8.0;

/// Splits what is left of `ui` into a left and a right rectangle at `share` of its width,
/// with a divider the user can drag (which changes `share`). Each side keeps at least its
/// minimum; when the width cannot hold both, the left one gives way first. Returns the two
/// rectangles and whether a drag of the divider just ended (time to remember the share).
pub fn columns(
    ui: &mut egui::Ui,
    id: egui::Id,
    share: &mut f32,
    min: [f32; 2],
) -> (egui::Rect, egui::Rect, bool) {
    let full = ui.available_rect_before_wrap();
    let width = full.width();
    let usable = (width - GRIP).max(0.0);
    let left_w = left_width(usable, *share, min);
    let divider = egui::Rect::from_min_size(
        egui::pos2(full.left() + left_w, full.top()),
        egui::vec2(GRIP, full.height()),
    );
    let response = ui.interact(divider, id, egui::Sense::drag());
    let mut left_w = left_w;
    if response.dragged()
        && let Some(pointer) = response.interact_pointer_pos()
        && usable > 0.0
    {
        left_w = left_width(usable, (pointer.x - full.left() - GRIP / 2.0) / usable, min);
        *share = left_w / usable;
    }
    if response.hovered() || response.dragged() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::ResizeHorizontal);
    }
    let stroke = if response.hovered() || response.dragged() {
        ui.visuals().widgets.hovered.fg_stroke
    } else {
        ui.visuals().widgets.noninteractive.bg_stroke
    };
    let x = full.left() + left_w + GRIP / 2.0;
    ui.painter().vline(x, full.y_range(), stroke);
    let left = egui::Rect::from_min_max(full.min, egui::pos2(full.left() + left_w, full.bottom()));
    let right = egui::Rect::from_min_max(
        egui::pos2(full.left() + left_w + GRIP, full.top()),
        full.max,
    );
    ui.allocate_rect(full, egui::Sense::hover());
    (left, right, response.drag_stopped())
}

/// The left pane's width for `share` of `usable`, within both minimums.
fn left_width(usable: f32, share: f32, min: [f32; 2]) -> f32 {
    let share = if share.is_finite() { share } else { 0.5 };
    let wanted = usable * share.clamp(0.0, 1.0);
    let most = (usable - min[1]).max(0.0);
    wanted.max(min[0]).min(most)
}

#[cfg(test)]
mod tests {
    use super::left_width;

    #[test]
    fn the_split_keeps_its_share_and_both_minimums() {
        assert!((left_width(1000.0, 0.5, [300.0, 260.0]) - 500.0).abs() < 0.01);
        // A narrow window: the right pane keeps its minimum, the left takes what is left.
        assert!((left_width(500.0, 0.9, [300.0, 260.0]) - 240.0).abs() < 0.01);
        assert!((left_width(1000.0, 0.1, [300.0, 260.0]) - 300.0).abs() < 0.01);
        assert!((left_width(1000.0, f32::NAN, [300.0, 260.0]) - 500.0).abs() < 0.01);
    }
}
