//! Groups and membership.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    User,
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Direct members (users and groups).
    pub member_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A user or group, as shown in member lists and pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryRef {
    pub kind: MemberKind,
    pub id: String,
    /// Username or group name.
    pub name: String,
    /// Display name, or the group's description.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupDetail {
    pub group: GroupView,
    /// Direct members, groups first then users, each by name.
    pub members: Vec<DirectoryRef>,
    /// Groups that list this group as a member.
    pub member_of: Vec<DirectoryRef>,
    /// The saved MFA registration policy includes or excludes this group (so it cannot be deleted).
    #[serde(default)]
    pub named_by_policy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateGroupRequest {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    pub kind: MemberKind,
    pub id: String,
}

/// One group a user is in, and how: the path of group names from the user's direct group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserGroup {
    pub id: String,
    pub name: String,
    /// `[direct group, …, this group]` by name; one entry for a direct membership.
    pub path: Vec<String>,
}

pub const GROUP_NAME_MAX: usize = 64;
pub const GROUP_DESCRIPTION_MAX: usize = 256;

/// Group names: 1–64 characters, no control characters, no leading or trailing space.
pub fn check_group_name(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 {
        return Err("Enter a group name.".into());
    }
    if n > GROUP_NAME_MAX {
        return Err(format!("Use at most {GROUP_NAME_MAX} characters."));
    }
    if name.chars().any(char::is_control) {
        return Err("The name cannot contain control characters.".into());
    }
    if name.trim() != name {
        return Err("The name cannot start or end with a space.".into());
    }
    Ok(())
}

pub fn check_group_description(d: &str) -> Result<(), String> {
    if d.chars().count() > GROUP_DESCRIPTION_MAX {
        return Err(format!("Use at most {GROUP_DESCRIPTION_MAX} characters."));
    }
    if d.chars().any(|c| c.is_control() && c != '\n') {
        return Err("The description cannot contain control characters.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert!(check_group_name("Engineering").is_ok());
        assert!(check_group_name("").is_err());
        assert!(check_group_name(" x").is_err());
        assert!(check_group_name(&"a".repeat(65)).is_err());
        assert!(check_group_name(&"é".repeat(64)).is_ok());
        assert!(check_group_name("a\u{0}b").is_err());
    }
}

/// Bulk import: the CSV text (header `kind,name,display_name,email,role,emergency_access,member_of`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub csv: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedPass {
    pub username: String,
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportResult {
    pub users_created: u64,
    pub groups_created: u64,
    pub memberships_added: u64,
    /// Each new user's temporary access pass, shown once.
    pub passes: Vec<ImportedPass>,
}

pub const CSV_HEADER: &str = "kind,name,display_name,email,role,emergency_access,member_of";
