//! Emergency-access sign-in alerts: raised at every such sign-in, cleared only by another administrator.

use super::Core;

use super::{audit, change};
use super::{Operator, ServiceError};

impl Core {
    /// Acknowledges an alert (audited, with whose sign-in it was and when). The account that
    /// signed in cannot acknowledge its own alert: whoever holds the break-glass password must not
    /// be able to clear the trace of using it.
    pub fn acknowledge_alert(&self, by: &Operator<'_>, id: &str) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let alert = s.alert(id)?.ok_or(ServiceError::NotFound("The alert"))?;
        if alert.user_id == by.actor().user.id {
            return Err(ServiceError::Forbidden(
                "This alert is about your own sign-in: another administrator must acknowledge it.".into(),
            ));
        }
        let signed_in = alert.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let mut entry = audit(
            now,
            Some(by.actor().user),
            "alert.acknowledged",
            None,
            vec![change("sign_in", None, Some(&format!("{} at {signed_in} from {}", alert.username, alert.ip)))],
            by.actor().client,
        );
        entry.0.target = format!("emergency-access sign-in of {}", alert.username);
        entry.0.target_id = Some(alert.user_id.clone());
        s.acknowledge_alert(id, &by.actor().user.username, now, entry)?;
        Ok(())
    }
}
