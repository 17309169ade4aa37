//! Access control (IAM) as the portal shows it, shared by the server and
//! the browser: role assignments, the members a role can be given to, and
//! the condition editor's model. The editor works on a [`Tree`] (what the
//! server's parser reads and its printer writes, converted by the server's
//! adapter); [`Editor`] splits a tree into the source's two parts, the
//! actions the condition governs and the expression, and joins them back
//! exactly, so that text pasted in the code view prints back unchanged.
//! Nothing here parses condition text: the server does.

pub use portcullis_proto::{
    AccessCheck, Action, IdentityKind, IdentityRef, ModePreview, RoleAssignmentMode, RoleDefinition,
};
use serde::{Deserialize, Serialize};

/// Role assignments per page of the list.
pub const PAGE_SIZE: u32 = 25;

/// The operator the walkthrough starts from.
pub const DEFAULT_OPERATOR: &str = "StringStartsWithIgnoreCase";

/// What the wizard and the list need once: the mode, the built-in roles
/// and the operators the server's parser accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSetup {
    pub mode: RoleAssignmentMode,
    pub roles: Vec<RoleDefinition>,
    pub operators: Vec<String>,
}

impl AccessSetup {
    pub fn role(&self, name: &str) -> Option<&RoleDefinition> {
        self.roles.iter().find(|role| role.name == name)
    }

    /// Whether an assignment of `role` may carry a condition now.
    pub fn takes_condition(&self, role: &RoleDefinition) -> bool {
        role.abac_enabled && self.mode == RoleAssignmentMode::RbacAbac
    }
}

/// How a kind of identity reads in the page.
pub fn kind_label(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::User => "User",
        IdentityKind::Group => "Group",
        IdentityKind::ServicePrincipal => "Service principal",
        IdentityKind::Anonymous => "Everyone (anonymous)",
    }
}

/// "alice (User)"; Everyone (anonymous) is named once.
pub fn member_label(name: &str, kind: IdentityKind) -> String {
    match kind {
        IdentityKind::Anonymous => name.to_owned(),
        kind => format!("{name} ({})", kind_label(kind)),
    }
}

/// A role assignment in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Its id.
    pub name: String,
    pub role: String,
    pub assignee: IdentityRef,
    /// The stored text and its tree, none for registry-wide.
    pub condition: Option<ConditionText>,
    pub description: String,
    pub honoured: bool,
    pub warnings: Vec<String>,
    pub created: String,
    pub created_by: String,
    /// The role's repository actions in rbac-abac mode (what the condition
    /// can govern).
    pub role_actions: Vec<Action>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionText {
    pub text: String,
    pub tree: Tree,
}

/// One page of the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentList {
    pub items: Vec<Assignment>,
    /// Matching the filters, all pages.
    pub total: usize,
    pub page: u32,
    pub pages: u32,
}

/// Someone a role can be given to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub kind: IdentityKind,
    pub name: String,
    /// A display name or application id, when there is one.
    pub detail: String,
}

/// The server's reading of a condition: its canonical text (what the CLI
/// takes), its tree, and what the administrator should know before saving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionReport {
    pub text: String,
    pub tree: Tree,
    pub warnings: Vec<String>,
}

/// What an assignment would give on the existing repositories.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentPreview {
    pub repositories: Vec<RepositoryActions>,
    /// Whether the role lists every repository.
    pub lists_every_repository: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryActions {
    pub repository: String,
    /// Empty: nothing there.
    pub actions: Vec<Action>,
}

/// A condition's syntax tree, as the server's parser reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tree {
    Any(Vec<Tree>),
    All(Vec<Tree>),
    Not(Box<Tree>),
    /// `@Request[…:name] <operator> '<value>'`.
    Name {
        operator: String,
        value: String,
    },
    /// `ActionMatches{'…/<action>'}`.
    Action(Action),
}

/// The visual editor's expression: a group of items joined by And or Or.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub any: bool,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub negated: bool,
    pub kind: ItemKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemKind {
    Name { operator: String, value: String },
    Action(Action),
    Group(Group),
}

/// The source's condition in two parts: the actions it governs (each other
/// action of the role is granted on every repository), and the expression
/// that must hold for them. `governed: None` is a condition without the
/// `!ActionMatches` prefix: the expression governs every action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Editor {
    pub governed: Option<Vec<Action>>,
    /// The expression's Or is the prefix's (`(prefix OR a OR b)`), not a
    /// group of its own (`(prefix OR (a OR b))`): kept to print pasted
    /// text back as it was.
    pub joined: bool,
    pub expression: Group,
}

/// Why the editor's content is not a condition yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditorError {
    NoAction,
    EmptyGroup,
}

impl std::fmt::Display for EditorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EditorError::NoAction => {
                "Select at least one action to govern, or assign the role without a condition."
            }
            EditorError::EmptyGroup => {
                "Every group needs at least one expression: add one or remove the group."
            }
        })
    }
}

impl Item {
    pub fn name(operator: &str, value: &str) -> Item {
        Item {
            negated: false,
            kind: ItemKind::Name { operator: operator.to_owned(), value: value.to_owned() },
        }
    }

    fn from_tree(tree: &Tree) -> Item {
        match tree {
            Tree::Not(operand) => {
                let inner = Item::from_tree(operand);
                if inner.negated {
                    // `!(!(x))`: the inner negation keeps a group of its own.
                    Item { negated: true, kind: ItemKind::Group(Group { any: false, items: vec![inner] }) }
                } else {
                    Item { negated: true, kind: inner.kind }
                }
            }
            Tree::Any(operands) | Tree::All(operands) => Item {
                negated: false,
                kind: ItemKind::Group(Group {
                    any: matches!(tree, Tree::Any(_)),
                    items: operands.iter().map(Item::from_tree).collect(),
                }),
            },
            Tree::Name { operator, value } => Item::name(operator, value),
            Tree::Action(action) => Item { negated: false, kind: ItemKind::Action(*action) },
        }
    }

    fn to_tree(&self) -> Result<Tree, EditorError> {
        let tree = match &self.kind {
            ItemKind::Name { operator, value } => {
                Tree::Name { operator: operator.clone(), value: value.clone() }
            }
            ItemKind::Action(action) => Tree::Action(*action),
            ItemKind::Group(group) => group.to_tree()?,
        };
        Ok(if self.negated { Tree::Not(Box::new(tree)) } else { tree })
    }
}

impl Group {
    /// A group of one expression: repository name, StartsWithIgnoreCase,
    /// empty value.
    pub fn starter() -> Group {
        Group { any: true, items: vec![Item::name(DEFAULT_OPERATOR, "")] }
    }

    fn of(tree: &Tree) -> Group {
        match Item::from_tree(tree) {
            Item { negated: false, kind: ItemKind::Group(group) } => group,
            item => Group { any: true, items: vec![item] },
        }
    }

    /// One item alone is itself, without parentheses.
    pub fn to_tree(&self) -> Result<Tree, EditorError> {
        let mut trees = self.items.iter().map(Item::to_tree).collect::<Result<Vec<_>, _>>()?;
        match trees.len() {
            0 => Err(EditorError::EmptyGroup),
            1 => Ok(trees.remove(0)),
            _ if self.any => Ok(Tree::Any(trees)),
            _ => Ok(Tree::All(trees)),
        }
    }

    /// The item at `path` (indices from this group down).
    pub fn item(&self, path: &[usize]) -> Option<&Item> {
        let (first, rest) = path.split_first()?;
        let item = self.items.get(*first)?;
        match (rest.is_empty(), &item.kind) {
            (true, _) => Some(item),
            (false, ItemKind::Group(group)) => group.item(rest),
            _ => None,
        }
    }

    pub fn item_mut(&mut self, path: &[usize]) -> Option<&mut Item> {
        let (first, rest) = path.split_first()?;
        let item = self.items.get_mut(*first)?;
        if rest.is_empty() {
            return Some(item);
        }
        match &mut item.kind {
            ItemKind::Group(group) => group.item_mut(rest),
            _ => None,
        }
    }

    /// The group at `path` (empty: this one).
    pub fn group(&self, path: &[usize]) -> Option<&Group> {
        if path.is_empty() {
            return Some(self);
        }
        match &self.item(path)?.kind {
            ItemKind::Group(group) => Some(group),
            _ => None,
        }
    }

    pub fn group_mut(&mut self, path: &[usize]) -> Option<&mut Group> {
        if path.is_empty() {
            return Some(self);
        }
        match &mut self.item_mut(path)?.kind {
            ItemKind::Group(group) => Some(group),
            _ => None,
        }
    }

    /// Removes the item at `path`.
    pub fn remove(&mut self, path: &[usize]) {
        if let Some((last, parent)) = path.split_last() {
            if let Some(group) = self.group_mut(parent) {
                if *last < group.items.len() {
                    group.items.remove(*last);
                }
            }
        }
    }

    /// The structure without the values: what the editor's layout depends
    /// on (typing a value changes nothing here).
    pub fn shape(&self) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|item| match &item.kind {
                ItemKind::Name { .. } => "n".to_owned(),
                ItemKind::Action(_) => "a".to_owned(),
                ItemKind::Group(group) => format!("({})", group.shape()),
            })
            .collect();
        items.join(",")
    }
}

/// `!(ActionMatches{a})`, or the `AND` of several: the actions the source's
/// prefix lists.
fn governed_actions(tree: &Tree) -> Option<Vec<Action>> {
    let one = |tree: &Tree| match tree {
        Tree::Not(operand) => match operand.as_ref() {
            Tree::Action(action) => Some(*action),
            _ => None,
        },
        _ => None,
    };
    match tree {
        Tree::All(operands) => operands.iter().map(one).collect(),
        other => one(other).map(|action| vec![action]),
    }
}

impl Editor {
    /// A new condition on a role: every action governed, one expression.
    pub fn new(role_actions: &[Action]) -> Editor {
        Editor { governed: Some(role_actions.to_vec()), joined: false, expression: Group::starter() }
    }

    pub fn from_tree(tree: &Tree) -> Editor {
        if let Tree::Any(operands) = tree {
            if let (Some(governed), true) = (governed_actions(&operands[0]), operands.len() >= 2) {
                let rest = &operands[1..];
                return if rest.len() == 1 {
                    Editor { governed: Some(governed), joined: false, expression: Group::of(&rest[0]) }
                } else {
                    Editor {
                        governed: Some(governed),
                        joined: true,
                        expression: Group { any: true, items: rest.iter().map(Item::from_tree).collect() },
                    }
                };
            }
        }
        Editor { governed: None, joined: false, expression: Group::of(tree) }
    }

    pub fn to_tree(&self) -> Result<Tree, EditorError> {
        let expression = self.expression.to_tree()?;
        let Some(governed) = &self.governed else {
            return Ok(expression);
        };
        let not = |action: &Action| Tree::Not(Box::new(Tree::Action(*action)));
        let prefix = match governed.as_slice() {
            [] => return Err(EditorError::NoAction),
            [action] => not(action),
            actions => Tree::All(actions.iter().map(not).collect()),
        };
        Ok(match expression {
            Tree::Any(operands) if self.joined => {
                Tree::Any(std::iter::once(prefix).chain(operands).collect())
            }
            expression => Tree::Any(vec![prefix, expression]),
        })
    }

    /// Whether `action` must satisfy the expression.
    pub fn governs(&self, action: Action) -> bool {
        self.governed.as_ref().is_none_or(|governed| governed.contains(&action))
    }

    /// Ticks or unticks `action` of the role's `role_actions`.
    pub fn set_governed(&mut self, role_actions: &[Action], action: Action, governed: bool) {
        let mut list = self.governed.clone().unwrap_or_else(|| role_actions.to_vec());
        list.retain(|listed| *listed != action);
        if governed {
            list.push(action);
        }
        // Keep the role's order, as the checkboxes show it.
        let order = |action: &Action| role_actions.iter().position(|a| a == action).unwrap_or(usize::MAX);
        list.sort_by_key(order);
        self.governed = Some(list);
    }
}

/// The condition in words, as the list and the review show it: "content/read
/// and metadata/read on repositories starting with backend/".
pub fn condition_in_words(tree: &Tree, role_actions: &[Action]) -> String {
    let editor = Editor::from_tree(tree);
    let expression = editor.expression.to_tree().map(|tree| words(&tree)).unwrap_or_default();
    match &editor.governed {
        None => format!("every action only where {expression}"),
        Some(governed) => {
            let free: Vec<Action> = role_actions.iter().copied().filter(|a| !governed.contains(a)).collect();
            let mut text = format!("{} only on {expression}", action_list(governed));
            if !free.is_empty() {
                text.push_str(&format!("; {} on every repository", action_list(&free)));
            }
            text
        }
    }
}

pub fn action_list(actions: &[Action]) -> String {
    let names: Vec<&str> = actions.iter().map(|action| action.as_str()).collect();
    match names.as_slice() {
        [] => "no action".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// An operator in words: "starting with", "not named", …
pub fn operator_words(operator: &str) -> String {
    let negated = operator.contains("Not");
    let test = if operator.contains("StartsWith") { "starting with" } else { "named" };
    let case = if operator.ends_with("IgnoreCase") { "" } else { " (exact case)" };
    let not = if negated { "not " } else { "" };
    format!("{not}{test}{case}")
}

/// An expression in words. Comparisons with the same operator joined by
/// the same Or (or And) share their words: "repositories starting with
/// backend/ or frontend/js/".
pub fn words(tree: &Tree) -> String {
    match tree {
        Tree::Name { operator, value } => format!("repositories {} {value}", operator_words(operator)),
        Tree::Action(action) => format!("the action is {action}", action = action.as_str()),
        Tree::Not(operand) => format!("not ({})", words(operand)),
        Tree::Any(operands) | Tree::All(operands) => {
            let joiner = if matches!(tree, Tree::Any(_)) { " or " } else { " and " };
            let mut parts: Vec<String> = Vec::new();
            let mut last_operator: Option<&str> = None;
            for operand in operands {
                match operand {
                    Tree::Name { operator, value } if last_operator == Some(operator.as_str()) => {
                        let previous = parts.last_mut().expect("a part before");
                        previous.push_str(&format!("{joiner}{value}"));
                    }
                    Tree::Name { operator, .. } => {
                        last_operator = Some(operator.as_str());
                        parts.push(words(operand));
                    }
                    Tree::Any(_) | Tree::All(_) => {
                        last_operator = None;
                        parts.push(format!("({})", words(operand)));
                    }
                    _ => {
                        last_operator = None;
                        parts.push(words(operand));
                    }
                }
            }
            parts.join(joiner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(operator: &str, value: &str) -> Tree {
        Tree::Name { operator: operator.to_owned(), value: value.to_owned() }
    }

    fn not_action(action: Action) -> Tree {
        Tree::Not(Box::new(Tree::Action(action)))
    }

    const READ: [Action; 2] = [Action::ContentRead, Action::MetadataRead];

    #[test]
    fn the_sources_shape_splits_into_governed_actions_and_expression() {
        let tree = Tree::Any(vec![
            Tree::All(vec![not_action(Action::ContentRead), not_action(Action::MetadataRead)]),
            name("StringStartsWithIgnoreCase", "backend/"),
        ]);
        let editor = Editor::from_tree(&tree);
        assert_eq!(editor.governed, Some(READ.to_vec()));
        assert_eq!(
            editor.expression,
            Group { any: true, items: vec![Item::name("StringStartsWithIgnoreCase", "backend/")] }
        );
        assert_eq!(editor.to_tree().unwrap(), tree);
        assert_eq!(
            condition_in_words(&tree, &READ),
            "content/read and metadata/read only on repositories starting with backend/"
        );
    }

    #[test]
    fn a_new_editor_prints_the_sources_shape() {
        let mut editor = Editor::new(&READ);
        editor.expression.items[0] = Item::name("StringStartsWithIgnoreCase", "backend/");
        let expected = Tree::Any(vec![
            Tree::All(vec![not_action(Action::ContentRead), not_action(Action::MetadataRead)]),
            name("StringStartsWithIgnoreCase", "backend/"),
        ]);
        assert_eq!(editor.to_tree().unwrap(), expected);
    }

    #[test]
    fn trees_of_any_shape_come_back_unchanged() {
        let trees = [
            // NOT(a) AND (b OR c), with an ActionMatches inside.
            Tree::All(vec![
                Tree::Not(Box::new(name("StringEqualsIgnoreCase", "backend/secret"))),
                Tree::Any(vec![
                    name("StringStartsWithIgnoreCase", "backend/"),
                    Tree::Action(Action::ContentRead),
                ]),
            ]),
            Tree::Not(Box::new(Tree::Not(Box::new(name("StringEquals", "a"))))),
            Tree::Any(vec![
                not_action(Action::ContentRead),
                name("StringStartsWith", "a/"),
                name("StringStartsWith", "b/"),
            ]),
            Tree::Any(vec![
                not_action(Action::ContentRead),
                Tree::Any(vec![name("StringStartsWith", "a/"), name("StringStartsWith", "b/")]),
            ]),
            Tree::Any(vec![
                name("StringStartsWith", "a/"),
                Tree::Any(vec![name("StringEquals", "b"), name("StringEquals", "c")]),
            ]),
            name("StringNotEquals", "x"),
        ];
        for tree in trees {
            assert_eq!(Editor::from_tree(&tree).to_tree().unwrap(), tree, "{tree:?}");
        }
    }

    #[test]
    fn unticking_every_action_or_emptying_a_group_is_refused() {
        let mut editor = Editor::new(&READ);
        editor.set_governed(&READ, Action::ContentRead, false);
        editor.set_governed(&READ, Action::MetadataRead, false);
        assert_eq!(editor.to_tree(), Err(EditorError::NoAction));
        let mut editor = Editor::new(&READ);
        editor.expression.items.clear();
        assert_eq!(editor.to_tree(), Err(EditorError::EmptyGroup));
    }

    #[test]
    fn unticking_one_action_leaves_it_on_every_repository() {
        let mut editor = Editor::new(&READ);
        editor.expression.items[0] = Item::name("StringStartsWithIgnoreCase", "backend/");
        editor.set_governed(&READ, Action::MetadataRead, false);
        assert!(!editor.governs(Action::MetadataRead));
        let tree = editor.to_tree().unwrap();
        assert_eq!(
            condition_in_words(&tree, &READ),
            "content/read only on repositories starting with backend/; metadata/read on every repository"
        );
    }

    #[test]
    fn prefixes_joined_by_or_read_as_one_list() {
        let tree = Tree::Any(vec![
            name("StringStartsWithIgnoreCase", "backend/"),
            name("StringStartsWithIgnoreCase", "frontend/js/"),
        ]);
        assert_eq!(words(&tree), "repositories starting with backend/ or frontend/js/");
    }
}
