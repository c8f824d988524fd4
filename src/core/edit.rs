//! Editing values as text, JSON or hex: turning bytes into editable text and back, refusing
//! what cannot be saved with a reason (JSON errors give line and column) and sending nothing.

use bytes::Bytes;

/// How a value is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditMode {
    /// UTF-8 text, saved as typed.
    Text,
    /// JSON: validated, shown pretty-printed, saved compact.
    Json,
    /// Hex digits (whitespace ignored).
    Hex,
}

/// Text for editing `bytes` in `mode`.
///
/// # Errors
/// The bytes are not UTF-8 (text) or not JSON (JSON); hex always works.
pub fn to_edit_text(bytes: &[u8], mode: EditMode) -> Result<String, String> {
    match mode {
        EditMode::Text => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| "this value is not UTF-8 text: edit it as hex".to_owned()),
        EditMode::Json => {
            let value: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| format!("this value is not JSON ({e}): edit it as text or hex"))?;
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
        }
        EditMode::Hex => Ok(bytes
            .chunks(16)
            .map(|row| {
                row.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// The bytes to save from edited text.
///
/// # Errors
/// Invalid JSON (with line and column) or invalid hex (with the position); nothing is saved.
pub fn from_edit_text(text: &str, mode: EditMode) -> Result<Bytes, String> {
    match mode {
        EditMode::Text => Ok(Bytes::copy_from_slice(text.as_bytes())),
        EditMode::Json => {
            let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                format!(
                    "invalid JSON at line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    json_reason(&e)
                )
            })?;
            serde_json::to_vec(&value)
                .map(Bytes::from)
                .map_err(|e| e.to_string())
        }
        EditMode::Hex => {
            let digits: Vec<(usize, u8)> = text
                .char_indices()
                .filter(|(_, c)| !c.is_whitespace())
                .map(|(i, c)| (i, u8::try_from(c).unwrap_or(b'?')))
                .collect();
            if digits.len() % 2 == 1 {
                return Err("hex needs an even number of digits (two per byte)".to_owned());
            }
            digits
                .chunks(2)
                .map(|pair| {
                    let hi = crate::core::escape::hex_digit(pair[0].1).ok_or(pair[0].0)?;
                    let lo = crate::core::escape::hex_digit(pair[1].1).ok_or(pair[1].0)?;
                    Ok(hi << 4 | lo)
                })
                .collect::<Result<Vec<u8>, usize>>()
                .map(Bytes::from)
                .map_err(|at| format!("invalid hex digit at character {}", at + 1))
        }
    }
}

fn json_reason(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C" to its message; we give those separately.
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The best mode to start editing `bytes` in: JSON when it parses, text when UTF-8, else hex.
#[must_use]
pub fn suggested_mode(bytes: &[u8]) -> EditMode {
    if crate::core::format::pretty_json(bytes).is_some() {
        EditMode::Json
    } else if std::str::from_utf8(bytes).is_ok() {
        EditMode::Text
    } else {
        EditMode::Hex
    }
}

/// An open string editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueEditor {
    /// Editing mode.
    pub mode: EditMode,
    /// The text being edited.
    pub text: String,
    /// The value as loaded (for conflict detection).
    pub original: Bytes,
    /// Why the last save or mode switch was refused.
    pub error: Option<String>,
}

impl ValueEditor {
    /// An editor on `original`, in the mode that suits it.
    #[must_use]
    pub fn new(original: Bytes) -> Self {
        let mode = suggested_mode(&original);
        let text = to_edit_text(&original, mode).unwrap_or_default();
        Self {
            mode,
            text,
            original,
            error: None,
        }
    }

    /// Switches mode, converting the current text; refused (with a reason) when it does not
    /// convert, keeping the text as it is.
    pub fn switch(&mut self, mode: EditMode) {
        if mode == self.mode {
            return;
        }
        let converted =
            from_edit_text(&self.text, self.mode).and_then(|bytes| to_edit_text(&bytes, mode));
        match converted {
            Ok(text) => {
                self.text = text;
                self.mode = mode;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The bytes to save, or the reason they cannot be.
    ///
    /// # Errors
    /// The text is not valid in the current mode.
    pub fn value(&self) -> Result<Bytes, String> {
        from_edit_text(&self.text, self.mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_json_is_refused_with_line_and_column() {
        let err =
            from_edit_text("{\n  \"a\": 1,\n  \"b\": \n}", EditMode::Json).expect_err("invalid");
        assert!(err.starts_with("invalid JSON at line 4, column 1"), "{err}");
        assert!(
            !err.contains(" at line 4 column"),
            "no repeated position: {err}"
        );
        assert_eq!(
            from_edit_text("{\"b\": 1,\n \"a\": [1, 2]}", EditMode::Json).expect("valid"),
            Bytes::from_static(br#"{"b":1,"a":[1,2]}"#)
        );
    }

    #[test]
    fn hex_round_trips_and_reports_bad_digits() {
        let bytes = b"\x00\xffhello";
        let text = to_edit_text(bytes, EditMode::Hex).expect("hex");
        assert_eq!(text, "00 ff 68 65 6c 6c 6f");
        assert_eq!(
            from_edit_text(&text, EditMode::Hex).expect("parse"),
            Bytes::from_static(bytes)
        );
        assert_eq!(
            from_edit_text("0g", EditMode::Hex),
            Err("invalid hex digit at character 2".into())
        );
        assert!(from_edit_text("abc", EditMode::Hex).is_err());
    }

    #[test]
    fn editors_pick_a_mode_and_refuse_lossy_switches() {
        let mut ed = ValueEditor::new(Bytes::from_static(br#"{"a":1}"#));
        assert_eq!(ed.mode, EditMode::Json);
        assert_eq!(ed.text, "{\n  \"a\": 1\n}");
        ed.switch(EditMode::Hex);
        assert_eq!(ed.mode, EditMode::Hex);
        let mut bin = ValueEditor::new(Bytes::from_static(b"\xff\x00"));
        assert_eq!(bin.mode, EditMode::Hex);
        bin.switch(EditMode::Text);
        assert_eq!(bin.mode, EditMode::Hex);
        assert!(
            bin.error
                .as_deref()
                .is_some_and(|e| e.contains("not UTF-8"))
        );
        let mut text = ValueEditor::new(Bytes::from_static(b"plain"));
        assert_eq!(text.mode, EditMode::Text);
        text.text.push_str(" text");
        assert_eq!(text.value(), Ok(Bytes::from_static(b"plain text")));
    }
}
