//! Laravel's cache tags in the viewer: which tags the open entry belongs to, and "Flush tag",
//! which reads what `Cache::tags([name])->flush()` would delete, shows it, and deletes exactly
//! that (with undo, as any delete) once the user says yes.

use bytes::Bytes;

use super::{Confirm, Effects, Level, Pending, Session};
use crate::backend::laravel::{Tag, supports_tags, tagged_entry};
use crate::service::{CommandKind, EventKind};

impl Session {
    /// Asks for the tags of `key` when it has the shape of a tagged entry and the cache can
    /// hold tags.
    pub(super) fn ask_tags(&mut self, key: &Bytes) {
        let can = self.capabilities.as_ref().is_some_and(supports_tags);
        if can && tagged_entry(key).is_some() {
            self.request(Pending::Tags, CommandKind::LaravelTags { key: key.clone() });
        }
    }

    /// Reads what flushing `tag` deletes; the question follows.
    pub(super) fn ask_flush_tag(&mut self, tag: Tag) {
        if self.writable() {
            self.request(Pending::TagKeys, CommandKind::TagKeys { tag });
        }
    }

    pub(super) fn tags_event(&mut self, kind: EventKind, fx: &mut Effects) {
        match kind {
            EventKind::LaravelTags { key, tags } => {
                if let Some(v) = self.viewer.as_mut().filter(|v| v.key == key) {
                    v.tags = Some(tags);
                }
            }
            EventKind::TagKeys { tag, keys } => {
                if keys.is_empty() {
                    fx.notify(
                        Level::Info,
                        format!(
                            "tag `{}` holds nothing: there is nothing to flush",
                            tag.name
                        ),
                    );
                    return;
                }
                // The entries come before the tag's two reference sets and its id key.
                let entries = keys
                    .iter()
                    .filter(|k| tagged_entry(k).is_some_and(|(root, _, _)| root == tag.root))
                    .count();
                fx.ask(Confirm::FlushTag {
                    conn: self.conn,
                    name: tag.name,
                    keys,
                    entries,
                });
            }
            _ => {}
        }
    }
}
