//! Keystrokes are never lost to a fast click.
//!
//! Typing `15m` and clicking *Set TTL* within a frame hands egui the keys and the click at
//! once; the press moves focus off the field before the field takes the keys, so the last
//! characters vanished and the click acted on `1`. egui has no setting for this, so the app
//! splits such a frame itself: the keys (and everything before the press) in this one, the
//! press and what follows in the next, drawn at once.

/// Holds back a pointer press that arrives in the same frame as typing.
#[derive(Debug, Default)]
pub struct InputPacer {
    held: Vec<egui::Event>,
}

impl InputPacer {
    /// Takes this frame's `events`, hands back those that belong in it, and keeps the rest for
    /// the next call. True when something was held back (the next frame should come at once).
    pub fn pace(&mut self, events: &mut Vec<egui::Event>) -> bool {
        let mut all = std::mem::take(&mut self.held);
        all.append(events);
        let mut typed = false;
        let split = all.iter().position(|e| match e {
            egui::Event::Text(_) | egui::Event::Paste(_) | egui::Event::Key { .. } => {
                typed = true;
                false
            }
            egui::Event::PointerButton { pressed: true, .. } => typed,
            _ => false,
        });
        if let Some(at) = split {
            self.held = all.split_off(at);
        }
        *events = all;
        !self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::InputPacer;

    fn press(pressed: bool) -> egui::Event {
        egui::Event::PointerButton {
            pos: egui::pos2(10.0, 10.0),
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::default(),
        }
    }

    #[test]
    fn a_click_after_typing_waits_one_frame_and_nothing_is_lost() {
        let mut pacer = InputPacer::default();
        let mut frame = vec![egui::Event::Text("5m".into()), press(true), press(false)];
        assert!(pacer.pace(&mut frame), "the click is held");
        assert_eq!(frame, vec![egui::Event::Text("5m".into())]);
        let mut next = vec![egui::Event::Text("x".into())];
        assert!(
            !pacer.pace(&mut next),
            "the click comes first in the next frame"
        );
        assert_eq!(
            next,
            vec![press(true), press(false), egui::Event::Text("x".into())]
        );
    }

    #[test]
    fn frames_without_typing_before_a_click_pass_as_they_are() {
        let mut pacer = InputPacer::default();
        let mut frame = vec![press(true), press(false), egui::Event::Text("a".into())];
        assert!(!pacer.pace(&mut frame));
        assert_eq!(frame.len(), 3);
        let mut empty = Vec::new();
        assert!(!pacer.pace(&mut empty));
        assert!(empty.is_empty());
    }
}
