//! A typed SELinux security context `user:role:type[:range]`.

use std::ffi::CString;
use std::fmt;
use std::str::FromStr;

use super::level::{Level, MlsRange};
use super::SelinuxError;

/// The longest user, role or type name accepted (the kernel has no fixed limit; policy
/// tools stay far below this).
pub const MAX_NAME_LEN: usize = 255;

/// A security context such as `system_u:system_r:container_t:s0:c1,c2`.
///
/// Each field's syntax is checked when the context is built or parsed: user, role and type
/// are policy identifiers (a letter or `_`, then letters, digits, `_`, `.` or `-`), the
/// range is an [`MlsRange`]. Whether the loaded policy knows these names is a separate
/// check, [`SecurityContext::check_in_policy`], that needs SELinux to be on.
///
/// [`Display`](fmt::Display) gives the canonical text the kernel would report.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecurityContext {
    user: String,
    role: String,
    ty: String,
    range: Option<MlsRange>,
}

/// Checks a user, role or type name.
pub(crate) fn validate_name(what: &str, name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    match bytes.first() {
        None => return Err(format!("the {what} is empty")),
        Some(b) if !(b.is_ascii_alphabetic() || *b == b'_') => {
            return Err(format!("the {what} {name:?} must start with a letter or '_'"))
        }
        _ => {}
    }
    if let Some(b) = bytes.iter().find(|b| !(b.is_ascii_alphanumeric() || b"_.-".contains(b))) {
        return Err(format!(
            "the {what} {name:?} holds {:?}; only letters, digits, '_', '.' and '-' are allowed",
            *b as char
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("the {what} is {} bytes long; at most {MAX_NAME_LEN} are allowed", name.len()));
    }
    Ok(())
}

impl SecurityContext {
    /// A context from its parts, each checked for syntax.
    pub fn new(
        user: &str,
        role: &str,
        ty: &str,
        range: Option<MlsRange>,
    ) -> Result<SecurityContext, SelinuxError> {
        let text = || match &range {
            Some(r) => format!("{user}:{role}:{ty}:{r}"),
            None => format!("{user}:{role}:{ty}"),
        };
        for (what, v) in [("user", user), ("role", role), ("type", ty)] {
            validate_name(what, v)
                .map_err(|reason| SelinuxError::InvalidContext { context: text(), reason })?;
        }
        Ok(SecurityContext { user: user.into(), role: role.into(), ty: ty.into(), range })
    }

    /// A context from parts known to be valid (constants of this crate).
    pub(crate) fn unchecked(user: &str, role: &str, ty: &str, range: Option<MlsRange>) -> SecurityContext {
        SecurityContext { user: user.into(), role: role.into(), ty: ty.into(), range }
    }

    /// The SELinux user (`system_u`).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The role (`system_r`, `object_r`).
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The type (`container_t`).
    pub fn type_(&self) -> &str {
        &self.ty
    }

    /// The MLS/MCS range, if the context has one.
    pub fn range(&self) -> Option<&MlsRange> {
        self.range.as_ref()
    }

    /// The low level of the range, if any.
    pub fn level(&self) -> Option<&Level> {
        self.range.as_ref().map(MlsRange::low)
    }

    /// The same context with another user.
    pub fn with_user(&self, user: &str) -> Result<SecurityContext, SelinuxError> {
        SecurityContext::new(user, &self.role, &self.ty, self.range)
    }

    /// The same context with another role.
    pub fn with_role(&self, role: &str) -> Result<SecurityContext, SelinuxError> {
        SecurityContext::new(&self.user, role, &self.ty, self.range)
    }

    /// The same context with another type.
    pub fn with_type(&self, ty: &str) -> Result<SecurityContext, SelinuxError> {
        SecurityContext::new(&self.user, &self.role, ty, self.range)
    }

    /// The same context at another range (a [`Level`] converts into a one-level range).
    pub fn with_range(&self, range: impl Into<MlsRange>) -> SecurityContext {
        SecurityContext { range: Some(range.into()), ..self.clone() }
    }

    /// The context as a C string (it never holds a NUL: the syntax forbids it).
    pub fn to_cstring(&self) -> CString {
        // The syntax check admits only [A-Za-z0-9_.:,-]; a NUL is impossible.
        CString::new(self.to_string()).unwrap_or_default()
    }

    /// Asks the loaded policy whether the context is valid (`security_check_context`):
    /// `Ok(())` when it is, [`SelinuxError::NotInPolicy`] when the policy does not know
    /// the user, role, type or range (or their combination), and
    /// [`SelinuxError::NotEnabled`] when SELinux is off and nothing can be checked.
    pub fn check_in_policy(&self) -> Result<(), SelinuxError> {
        if !super::selinux_enabled() {
            return Err(SelinuxError::NotEnabled);
        }
        super::detect::check_context(&self.to_cstring()).map_err(|source| SelinuxError::NotInPolicy {
            context: self.to_string(),
            errno: source.raw_os_error(),
        })
    }
}

impl FromStr for SecurityContext {
    type Err = SelinuxError;

    /// Parses `user:role:type` or `user:role:type:range`.
    fn from_str(text: &str) -> Result<SecurityContext, SelinuxError> {
        let bad = |reason: String| SelinuxError::InvalidContext { context: text.to_string(), reason };
        let mut parts = text.splitn(4, ':');
        let (Some(user), Some(role), Some(ty)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("a context has the form user:role:type[:level]".into()));
        };
        let range = match parts.next() {
            Some(r) => Some(r.parse::<MlsRange>().map_err(|e| bad(e.to_string()))?),
            None => None,
        };
        for (what, v) in [("user", user), ("role", role), ("type", ty)] {
            validate_name(what, v).map_err(bad)?;
        }
        Ok(SecurityContext { user: user.into(), role: role.into(), ty: ty.into(), range })
    }
}

impl fmt::Display for SecurityContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.user, self.role, self.ty)?;
        if let Some(r) = &self.range {
            write!(f, ":{r}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SecurityContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityContext({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn selinux_context_parse_format() {
        let c: SecurityContext = "system_u:system_r:container_t:s0:c1,c2".parse().unwrap();
        assert_eq!(c.user(), "system_u");
        assert_eq!(c.role(), "system_r");
        assert_eq!(c.type_(), "container_t");
        assert_eq!(c.level().unwrap().as_mcs_pair(), Some((1, 2)));
        assert_eq!(c.to_string(), "system_u:system_r:container_t:s0:c1,c2");
        let u: SecurityContext = "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023".parse().unwrap();
        assert_eq!(u.to_string(), "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023");
        let nomls: SecurityContext = "user_u:user_r:user_t".parse().unwrap();
        assert!(nomls.range().is_none());
        assert_eq!(nomls.to_string(), "user_u:user_r:user_t");
        // non-canonical input comes out canonical
        let c2: SecurityContext = "a_u:b_r:c_t:s0:c3,c2,c1-s0:c1,c2,c3".parse().unwrap();
        assert_eq!(c2.to_string(), "a_u:b_r:c_t:s0:c1.c3");
        let c3: SecurityContext = "a_u:b_r:c_t:s0-s0:c3,c2,c1".parse().unwrap();
        assert_eq!(c3.to_string(), "a_u:b_r:c_t:s0-s0:c1.c3");
        let t = c.with_type("spc_t").unwrap().with_range(Level::S0);
        assert_eq!(t.to_string(), "system_u:system_r:spc_t:s0");
        assert_eq!(t.to_cstring().as_bytes(), b"system_u:system_r:spc_t:s0");
    }

    #[test]
    fn selinux_context_rejects_bad_fields() {
        for bad in [
            "",
            "system_u",
            "system_u:system_r",
            "system_u:system_r:",
            ":system_r:container_t",
            "system_u::container_t:s0",
            "system_u:system_r:container t:s0",
            "system_u:system_r:container_t:",
            "system_u:system_r:container_t:s0:c1024",
            "system_u:system_r:1container_t:s0",
            "system_u:system_r:con\"tainer_t",
            "system_u:system_r:container_t:s0:c1,c2\n",
            "system_u:system_r:contai\0ner_t",
        ] {
            let e = bad.parse::<SecurityContext>().unwrap_err();
            assert!(matches!(e, SelinuxError::InvalidContext { .. }), "{bad:?}: {e:?}");
            assert!(e.to_string().starts_with("invalid SELinux context"), "{e}");
        }
        assert!(SecurityContext::new("system_u", "system_r", "a".repeat(300).as_str(), None).is_err());
        let base: SecurityContext = "system_u:system_r:container_t:s0".parse().unwrap();
        assert!(base.with_type("bad type").is_err());
        assert!(base.with_user("").is_err());
        assert!(base.with_role("r;").is_err());
    }

    proptest! {
        #[test]
        fn selinux_context_round_trip(
            u in "[a-z_][a-z0-9_.-]{0,12}", r in "[a-z_][a-z0-9_.-]{0,12}", t in "[A-Za-z_][A-Za-z0-9_.-]{0,20}",
            s in 0u8..16, cats in proptest::collection::vec(0u16..1024, 0..10), with_range in any::<bool>(),
        ) {
            let lvl = Level::new(s, super::super::level::CategorySet::from_categories(cats).unwrap()).unwrap();
            let ctx = SecurityContext::new(&u, &r, &t, with_range.then(|| MlsRange::single(lvl))).unwrap();
            let text = ctx.to_string();
            let back: SecurityContext = text.parse().unwrap();
            prop_assert_eq!(&back, &ctx);
            prop_assert_eq!(back.to_string(), text);
        }

        #[test]
        fn selinux_context_parser_never_panics(s in "[ -~]{0,40}") {
            let _ = s.parse::<SecurityContext>();
        }
    }
}
