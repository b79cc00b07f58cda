//! Capability links: the teacher and pupil tokens of a class, made when it is created.

use crate::protocol::{ErrorCode, ProtocolError, Role};
use crate::tokens::secret_eq;

use super::JoinGrant;

/// A class's capability tokens and whether they have expired.
#[derive(Debug, Clone, Copy)]
pub struct CapabilityLinks<'a> {
    pub teacher: &'a str,
    pub pupil: &'a str,
    pub observer: &'a str,
    pub expired: bool,
}

/// The role `token` gives in the class, or why it gives none.
pub(super) fn verify(links: &CapabilityLinks<'_>, token: &str) -> Result<JoinGrant, ProtocolError> {
    let role = if secret_eq(token, links.teacher) {
        Role::Teacher
    } else if secret_eq(token, links.pupil) {
        Role::Pupil
    } else if secret_eq(token, links.observer) {
        Role::Observer
    } else {
        return Err(ProtocolError::new(
            ErrorCode::BadToken,
            "this link is not valid for this class; check that it was copied whole",
        ));
    };
    // Checked after the match so that a stranger cannot learn whether a class's links expired.
    if links.expired {
        return Err(ProtocolError::new(
            ErrorCode::TokenExpired,
            "this link has expired; ask your teacher for a new one",
        ));
    }
    Ok(JoinGrant {
        role,
        name: None,
        subject: None,
        token_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINKS: CapabilityLinks<'static> = CapabilityLinks {
        teacher: "teacher-token",
        pupil: "pupil-token",
        observer: "observer-token",
        expired: false,
    };

    #[test]
    fn each_link_gives_its_role_and_nothing_else() {
        assert_eq!(
            verify(&LINKS, "teacher-token").map(|g| g.role),
            Ok(Role::Teacher)
        );
        assert_eq!(
            verify(&LINKS, "pupil-token").map(|g| g.role),
            Ok(Role::Pupil)
        );
        assert_eq!(
            verify(&LINKS, "observer-token").map(|g| g.role),
            Ok(Role::Observer)
        );
        let err = verify(&LINKS, "pupil-token-x").expect_err("refused");
        assert_eq!(err.code, ErrorCode::BadToken);
    }

    #[test]
    fn an_expired_link_says_so_but_only_to_its_holder() {
        let links = CapabilityLinks {
            expired: true,
            ..LINKS
        };
        let code = |t| verify(&links, t).map_err(|e| e.code).err();
        assert_eq!(code("pupil-token"), Some(ErrorCode::TokenExpired));
        assert_eq!(code("guess"), Some(ErrorCode::BadToken));
    }
}
