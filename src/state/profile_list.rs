//! The profile list as it is drawn: groups (folders) and top-level profiles, the last used
//! first, narrowed by the search box.

use crate::config::profiles::Profile;

/// One row of the list: a group with its profiles, or a profile at the top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEntry {
    /// A group and its profiles (the last used first).
    Group {
        /// The group's name.
        name: String,
        /// Its profiles' names.
        profiles: Vec<String>,
    },
    /// A profile in no group.
    Profile(String),
}

/// Whether `profile` matches every word of `query` (in its name, group or address; case is
/// ignored). An empty query matches everything.
#[must_use]
pub fn matches(profile: &Profile, query: &str) -> bool {
    // The list is laid out every frame: no text is built while the box is empty.
    if query.trim().is_empty() {
        return true;
    }
    let haystack = format!(
        "{}\n{}\n{}\n{}",
        profile.name,
        profile.group.as_deref().unwrap_or_default(),
        profile.connection.display_url(),
        profile
            .ssh
            .as_ref()
            .map(crate::config::connection::SshSpec::label)
            .unwrap_or_default()
    )
    .to_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

/// The list's rows for `query`: a group comes where its most recently used profile would,
/// and within it the last used first; profiles never used follow, by name.
#[must_use]
pub fn listing(profiles: &[Profile], query: &str) -> Vec<ListEntry> {
    let ordered = crate::config::profiles::last_used_first(profiles);
    let mut entries: Vec<ListEntry> = Vec::new();
    for profile in ordered.into_iter().filter(|p| matches(p, query)) {
        match &profile.group {
            Some(group) => {
                let existing = entries.iter_mut().find_map(|e| match e {
                    ListEntry::Group { name, profiles } if name == group => Some(profiles),
                    _ => None,
                });
                match existing {
                    Some(members) => members.push(profile.name.clone()),
                    None => entries.push(ListEntry::Group {
                        name: group.clone(),
                        profiles: vec![profile.name.clone()],
                    }),
                }
            }
            None => entries.push(ListEntry::Profile(profile.name.clone())),
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::connection::parse_url;

    fn profile(name: &str, group: Option<&str>, used: Option<u64>) -> Profile {
        let (spec, _) = parse_url("redis://10.0.0.1:6379/0").expect("url");
        let mut p = Profile::new(name, spec);
        p.group = group.map(str::to_owned);
        p.last_used_ms = used;
        p
    }

    #[test]
    fn the_last_used_come_first_and_groups_where_their_latest_is() {
        let profiles = [
            profile("alpha", None, None),
            profile("beta", Some("Prod"), Some(10)),
            profile("gamma", None, Some(30)),
            profile("delta", Some("Prod"), Some(20)),
            profile("epsilon", Some("Staging"), None),
        ];
        assert_eq!(
            listing(&profiles, ""),
            [
                ListEntry::Profile("gamma".into()),
                ListEntry::Group {
                    name: "Prod".into(),
                    profiles: vec!["delta".into(), "beta".into()]
                },
                ListEntry::Profile("alpha".into()),
                ListEntry::Group {
                    name: "Staging".into(),
                    profiles: vec!["epsilon".into()]
                },
            ]
        );
    }

    #[test]
    fn the_search_matches_every_word_in_name_group_or_address() {
        let profiles = [
            profile("orders-cache", Some("Prod"), None),
            profile("sessions", Some("Staging"), None),
        ];
        assert_eq!(
            listing(&profiles, "PROD orders"),
            [ListEntry::Group {
                name: "Prod".into(),
                profiles: vec!["orders-cache".into()]
            }]
        );
        assert_eq!(listing(&profiles, "10.0.0.1").len(), 2);
        assert!(listing(&profiles, "nothing-like-it").is_empty());
    }
}
