//! The `ActionSet` bitset of the five repository actions (SPEC §1
//! "Actions"; the enum is the wire type `portcullis_proto::Action`) that
//! scope maps and grants are made of, and the translation to and from
//! the Docker token-spec scope words (`pull`, `push`, ...). Calls nothing.

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::PolicyError;

/// The five actions are a wire type (`portcullis_proto::Action`: one
/// definition for the API, the CLI, the portal and the policy).
pub use portcullis_proto::Action;

/// The bit of `action` in an [`ActionSet`].
const fn bit(action: Action) -> u8 {
    1 << (action as u8)
}

impl From<portcullis_proto::UnknownAction> for PolicyError {
    fn from(error: portcullis_proto::UnknownAction) -> Self {
        PolicyError::UnknownAction(error.0)
    }
}

/// A set of [`Action`]s. Copy, one byte; iterates in [`Action::ALL`] order.
/// Serialises as a list of action strings, e.g. `["content/read","metadata/read"]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Action>", into = "Vec<Action>")]
pub struct ActionSet(u8);

impl ActionSet {
    pub const EMPTY: ActionSet = ActionSet(0);
    pub const ALL: ActionSet = ActionSet::of(&Action::ALL);

    /// The set holding exactly `actions` (usable in constants).
    pub const fn of(actions: &[Action]) -> ActionSet {
        let mut bits = 0;
        let mut index = 0;
        while index < actions.len() {
            bits |= bit(actions[index]);
            index += 1;
        }
        ActionSet(bits)
    }

    /// This set plus `action` (usable in constants).
    pub const fn with(self, action: Action) -> ActionSet {
        ActionSet(self.0 | bit(action))
    }

    /// This set minus `action`.
    pub const fn without(self, action: Action) -> ActionSet {
        ActionSet(self.0 & !bit(action))
    }

    pub const fn union(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 & other.0)
    }

    /// The actions of `self` that are not in `other`.
    pub const fn difference(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 & !other.0)
    }

    pub const fn contains(self, action: Action) -> bool {
        self.0 & bit(action) != 0
    }

    /// Whether every action of `other` is also in `self`.
    pub const fn contains_all(self, other: ActionSet) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn insert(&mut self, action: Action) {
        *self = self.with(action);
    }

    pub fn remove(&mut self, action: Action) {
        *self = self.without(action);
    }

    /// The actions in [`Action::ALL`] order.
    pub fn iter(self) -> ActionSetIter {
        ActionSetIter { remaining: self }
    }

    /// The set named by one Docker token-spec scope word: `pull`, `push`,
    /// `delete`, `metadata_read`, `metadata_write`, or `*` for every action.
    pub fn from_token_scope_word(word: &str) -> Result<ActionSet, PolicyError> {
        if word == "*" {
            return Ok(ActionSet::ALL);
        }
        Action::ALL
            .into_iter()
            .find(|action| action.token_scope_word() == word)
            .map(ActionSet::from)
            .ok_or_else(|| PolicyError::UnknownTokenScopeAction(word.to_owned()))
    }

    /// The set named by the action list of a token-spec scope, the part
    /// after the last `:` of `repository:samples/app:pull,push`. Empty items
    /// are skipped; an unknown word is an error (callers that prefer to
    /// ignore unknown words can split and use [`Self::from_token_scope_word`]).
    pub fn from_token_scope_words(list: &str) -> Result<ActionSet, PolicyError> {
        list.split(',')
            .map(str::trim)
            .filter(|word| !word.is_empty())
            .try_fold(ActionSet::EMPTY, |set, word| Ok(set | ActionSet::from_token_scope_word(word)?))
    }

    /// The token-spec words for this set, in [`Action::ALL`] order, for the
    /// `access` claim of an issued token.
    pub fn token_scope_words(self) -> Vec<&'static str> {
        self.iter().map(Action::token_scope_word).collect()
    }
}

impl From<Action> for ActionSet {
    fn from(action: Action) -> Self {
        ActionSet(bit(action))
    }
}

impl From<Vec<Action>> for ActionSet {
    fn from(actions: Vec<Action>) -> Self {
        actions.into_iter().collect()
    }
}

impl From<ActionSet> for Vec<Action> {
    fn from(set: ActionSet) -> Self {
        set.iter().collect()
    }
}

impl FromIterator<Action> for ActionSet {
    fn from_iter<I: IntoIterator<Item = Action>>(actions: I) -> Self {
        actions.into_iter().fold(ActionSet::EMPTY, ActionSet::with)
    }
}

impl Extend<Action> for ActionSet {
    fn extend<I: IntoIterator<Item = Action>>(&mut self, actions: I) {
        for action in actions {
            self.insert(action);
        }
    }
}

impl IntoIterator for ActionSet {
    type Item = Action;
    type IntoIter = ActionSetIter;

    fn into_iter(self) -> ActionSetIter {
        self.iter()
    }
}

impl BitOr for ActionSet {
    type Output = ActionSet;

    fn bitor(self, other: ActionSet) -> ActionSet {
        self.union(other)
    }
}

impl BitOrAssign for ActionSet {
    fn bitor_assign(&mut self, other: ActionSet) {
        *self = self.union(other);
    }
}

impl BitAnd for ActionSet {
    type Output = ActionSet;

    fn bitand(self, other: ActionSet) -> ActionSet {
        self.intersection(other)
    }
}

impl BitAndAssign for ActionSet {
    fn bitand_assign(&mut self, other: ActionSet) {
        *self = self.intersection(other);
    }
}

/// `content/read, metadata/read`; the empty set displays as an empty string.
impl fmt::Display for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, action) in self.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            f.write_str(action.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActionSet{{{self}}}")
    }
}

/// Parses the [`Display`](fmt::Display) form back: comma-separated action
/// strings, spaces around them ignored; an empty or blank string is the
/// empty set.
impl FromStr for ActionSet {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Ok(ActionSet::EMPTY);
        }
        text.split(',').map(|item| Ok(item.trim().parse::<Action>()?)).collect()
    }
}

/// Iterator over an [`ActionSet`] in [`Action::ALL`] order.
#[derive(Debug, Clone)]
pub struct ActionSetIter {
    remaining: ActionSet,
}

impl Iterator for ActionSetIter {
    type Item = Action;

    fn next(&mut self) -> Option<Action> {
        let action = Action::ALL.into_iter().find(|action| self.remaining.contains(*action))?;
        self.remaining.remove(action);
        Some(action)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining.len(), Some(self.remaining.len()))
    }
}

impl ExactSizeIterator for ActionSetIter {}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTION_STRINGS: [(Action, &str); 5] = [
        (Action::ContentRead, "content/read"),
        (Action::ContentWrite, "content/write"),
        (Action::ContentDelete, "content/delete"),
        (Action::MetadataRead, "metadata/read"),
        (Action::MetadataWrite, "metadata/write"),
    ];

    #[test]
    fn every_action_round_trips_through_its_string() {
        for (action, text) in ACTION_STRINGS {
            assert_eq!(action.to_string(), text);
            assert_eq!(action.as_str(), text);
            assert_eq!(text.parse::<Action>(), Ok(action), "{text}");
            assert_eq!(serde_json::to_string(&action).unwrap(), format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Action>(&format!("\"{text}\"")).unwrap(), action);
        }
        assert_eq!(Action::ALL.map(|action| action.as_str()), ACTION_STRINGS.map(|(_, text)| text));
    }

    #[test]
    fn unknown_or_misspelt_actions_are_refused() {
        for text in [
            "",
            "read",
            "pull",
            "Content/Read",
            "content/read ",
            " content/read",
            "content\\read",
            "content/*",
            "*",
            "metadata/delete",
            "content/list",
        ] {
            assert_eq!(
                text.parse::<Action>().map_err(PolicyError::from),
                Err(PolicyError::UnknownAction(text.to_owned())),
                "{text:?}"
            );
        }
        let message = "pull".parse::<Action>().unwrap_err().to_string();
        assert_eq!(
            message,
            "unknown action \"pull\": expected one of content/read, content/write, \
             content/delete, metadata/read, metadata/write"
        );
        assert!(serde_json::from_str::<Action>("\"pull\"").is_err());
    }

    #[test]
    fn all_and_empty_hold_what_they_say() {
        assert_eq!(ActionSet::ALL.len(), 5);
        assert_eq!(ActionSet::EMPTY.len(), 0);
        assert!(ActionSet::EMPTY.is_empty());
        assert_eq!(ActionSet::default(), ActionSet::EMPTY);
        for action in Action::ALL {
            assert!(ActionSet::ALL.contains(action));
            assert!(!ActionSet::EMPTY.contains(action));
            let single = ActionSet::from(action);
            assert_eq!(single.len(), 1);
            assert_eq!(single.iter().collect::<Vec<_>>(), vec![action]);
        }
        assert_eq!(ActionSet::ALL.iter().collect::<Vec<_>>(), Action::ALL.to_vec());
    }

    #[test]
    fn set_algebra_over_every_pair_of_sets() {
        // All 32 x 32 pairs: compare the bitset with a Vec-based model.
        let every_set: Vec<ActionSet> = (0u8..32)
            .map(|bits| {
                Action::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(index, _)| bits & (1 << index) != 0)
                    .map(|(_, action)| action)
                    .collect()
            })
            .collect();
        for &left in &every_set {
            for &right in &every_set {
                let union = left | right;
                let intersection = left & right;
                let difference = left.difference(right);
                for action in Action::ALL {
                    let in_left = left.contains(action);
                    let in_right = right.contains(action);
                    assert_eq!(union.contains(action), in_left || in_right);
                    assert_eq!(intersection.contains(action), in_left && in_right);
                    assert_eq!(difference.contains(action), in_left && !in_right);
                }
                assert_eq!(left.union(right), union);
                assert_eq!(left.intersection(right), intersection);
                assert_eq!(left.contains_all(right), right.iter().all(|action| left.contains(action)));
            }
        }
    }

    #[test]
    fn iteration_follows_the_fixed_order_whatever_the_insertion_order() {
        let set: ActionSet =
            [Action::MetadataWrite, Action::ContentRead, Action::MetadataRead, Action::ContentRead]
                .into_iter()
                .collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Action::ContentRead, Action::MetadataRead, Action::MetadataWrite]
        );
        assert_eq!(set.iter().len(), 3);
        let mut edited = set;
        edited.remove(Action::MetadataRead);
        edited.insert(Action::ContentDelete);
        edited.extend([Action::ContentWrite]);
        assert_eq!(edited.to_string(), "content/read, content/write, content/delete, metadata/write");
    }

    #[test]
    fn display_is_a_comma_list_that_parses_back() {
        let table = [
            (ActionSet::EMPTY, ""),
            (ActionSet::from(Action::ContentRead), "content/read"),
            (ActionSet::of(&[Action::ContentWrite, Action::ContentRead]), "content/read, content/write"),
            (ActionSet::ALL, "content/read, content/write, content/delete, metadata/read, metadata/write"),
        ];
        for (set, text) in table {
            assert_eq!(set.to_string(), text);
            assert_eq!(text.parse::<ActionSet>(), Ok(set));
        }
        for bits in 0u8..32 {
            let set = ActionSet(bits);
            assert_eq!(set.to_string().parse::<ActionSet>(), Ok(set));
        }
        assert_eq!(
            "metadata/read,content/read".parse::<ActionSet>(),
            Ok(ActionSet::of(&[Action::ContentRead, Action::MetadataRead]))
        );
        assert_eq!(
            "content/read, pull".parse::<ActionSet>(),
            Err(PolicyError::UnknownAction("pull".to_owned()))
        );
        assert_eq!(
            "content/read,,content/write".parse::<ActionSet>(),
            Err(PolicyError::UnknownAction(String::new()))
        );
        assert_eq!(format!("{:?}", ActionSet::from(Action::ContentRead)), "ActionSet{content/read}");
    }

    #[test]
    fn serde_uses_a_list_of_action_strings() {
        let set = ActionSet::of(&[Action::MetadataRead, Action::ContentRead]);
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["content/read","metadata/read"]"#);
        assert_eq!(serde_json::to_string(&ActionSet::EMPTY).unwrap(), "[]");
        assert_eq!(
            serde_json::from_str::<ActionSet>(r#"["metadata/read","content/read","content/read"]"#).unwrap(),
            set
        );
        assert!(serde_json::from_str::<ActionSet>(r#"["content/read","push"]"#).is_err());
        assert!(serde_json::from_str::<ActionSet>(r#""content/read""#).is_err());
        for bits in 0u8..32 {
            let set = ActionSet(bits);
            let json = serde_json::to_string(&set).unwrap();
            assert_eq!(serde_json::from_str::<ActionSet>(&json).unwrap(), set);
        }
    }

    #[test]
    fn token_scope_words_map_to_actions() {
        let table = [
            ("pull", ActionSet::from(Action::ContentRead)),
            ("push", ActionSet::from(Action::ContentWrite)),
            ("delete", ActionSet::from(Action::ContentDelete)),
            ("metadata_read", ActionSet::from(Action::MetadataRead)),
            ("metadata_write", ActionSet::from(Action::MetadataWrite)),
            ("*", ActionSet::ALL),
        ];
        for (word, set) in table {
            assert_eq!(ActionSet::from_token_scope_word(word), Ok(set), "{word}");
        }
        for action in Action::ALL {
            assert_eq!(
                ActionSet::from_token_scope_word(action.token_scope_word()),
                Ok(ActionSet::from(action))
            );
        }
        for word in ["", "Pull", "content/read", "read", "write", "**", "pull,push"] {
            assert_eq!(
                ActionSet::from_token_scope_word(word),
                Err(PolicyError::UnknownTokenScopeAction(word.to_owned())),
                "{word:?}"
            );
        }
    }

    #[test]
    fn token_scope_word_lists_map_to_sets() {
        let read_write = ActionSet::of(&[Action::ContentRead, Action::ContentWrite]);
        assert_eq!(ActionSet::from_token_scope_words("pull,push"), Ok(read_write));
        assert_eq!(ActionSet::from_token_scope_words("push,pull"), Ok(read_write));
        assert_eq!(ActionSet::from_token_scope_words(" pull , push "), Ok(read_write));
        assert_eq!(ActionSet::from_token_scope_words("pull,*"), Ok(ActionSet::ALL));
        assert_eq!(ActionSet::from_token_scope_words(""), Ok(ActionSet::EMPTY));
        assert_eq!(
            ActionSet::from_token_scope_words("pull,,delete"),
            Ok(ActionSet::of(&[Action::ContentRead, Action::ContentDelete]))
        );
        assert_eq!(
            ActionSet::from_token_scope_words("pull,fly"),
            Err(PolicyError::UnknownTokenScopeAction("fly".to_owned()))
        );
        assert_eq!(read_write.token_scope_words(), vec!["pull", "push"]);
        assert_eq!(
            ActionSet::ALL.token_scope_words(),
            vec!["pull", "push", "delete", "metadata_read", "metadata_write"]
        );
        assert!(ActionSet::EMPTY.token_scope_words().is_empty());
    }
}
