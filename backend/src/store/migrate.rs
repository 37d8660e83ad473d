//! Moving a directory between engines (`proofup migrate`): the records one engine exports and
//! another imports, engine-neutral.

use crate::domain::records::{AlertRecord, AuditRecord, PolicyRecord, SignInRecord};
use proofup_shared::directory::MemberKind;

use crate::domain::model::{Group, Method, RecoveryCodeSet, User};
use crate::domain::notify::Message;
use crate::domain::oidc::{Application, SigningKey};
use crate::domain::policy::RegistrationState;
use crate::domain::tap::TapRecord;

/// One record of a store, as kept (secrets stay sealed with the same key file).
#[derive(Debug, Clone)]
pub enum Record {
    User(User),
    Group(Group),
    Member {
        group: String,
        kind: MemberKind,
        member: String,
    },
    Pass {
        user_id: String,
        pass: TapRecord,
    },
    /// A live session (keyed by its cookie's SHA-256): nobody is signed out by a migration.
    Session {
        key: [u8; 32],
        session: crate::domain::model::Session,
    },
    /// A sign-in in progress (keyed as a session): it finishes on the new engine.
    Login {
        key: [u8; 32],
        flow: crate::domain::login::LoginFlow,
    },
    Method(Method),
    Recovery {
        user_id: String,
        codes: RecoveryCodeSet,
    },
    Registration {
        user_id: String,
        state: RegistrationState,
    },
    Policy(PolicyRecord),
    Audit(AuditRecord),
    SignIn(SignInRecord),
    Alert(AlertRecord),
    RiskProfile(crate::domain::risk::Profile),
    Detection(crate::domain::records::DetectionRecord),
    WebhookUrl(String),
    Message(Message),
    Application(Application),
    SigningKeys(Vec<SigningKey>),
    SetupDone,
    /// The check of the secret key the secrets above are sealed with: it goes with them.
    SecretKeyCheck(String),
}

/// How many records of each kind went across.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
    pub methods: u64,
    pub policy_versions: u64,
    pub audit: u64,
    pub sign_ins: u64,
    pub applications: u64,
    pub sessions: u64,
    pub other: u64,
}

impl Counts {
    pub fn add(&mut self, r: &Record) {
        match r {
            Record::User(_) => self.users += 1,
            Record::Group(_) => self.groups += 1,
            Record::Member { .. } => self.memberships += 1,
            Record::Method(_) => self.methods += 1,
            Record::Policy(_) => self.policy_versions += 1,
            Record::Audit(_) => self.audit += 1,
            Record::SignIn(_) => self.sign_ins += 1,
            Record::Application(_) => self.applications += 1,
            Record::Session { .. } => self.sessions += 1,
            _ => self.other += 1,
        }
    }
}
