//! The soak's request kinds: how each is sent and what answer each must get.

use super::fixtures::Fixtures;
use super::http::{Answer, Request};
use super::ledger::Endpoint;
use reqwest::Method;
use serde_json::{json, Value};

/// A malformed or refused request, each with the exact error it must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    NoFrames,
    NotBase64,
    UnknownField,
    NoContentType,
    NoToken,
    InvalidUserId,
    DeleteStranger,
    /// A photo without a face: a well-formed enrollment the service refuses (audited).
    NoFaceEnroll,
}

impl Bad {
    pub const ALL: [Bad; 8] = [
        Bad::NoFrames,
        Bad::NotBase64,
        Bad::UnknownField,
        Bad::NoContentType,
        Bad::NoToken,
        Bad::InvalidUserId,
        Bad::DeleteStranger,
        Bad::NoFaceEnroll,
    ];

    /// The status and `error.code` the API answers with (shared/api/src).
    pub fn expected(self) -> (u16, &'static str) {
        match self {
            Bad::NoFrames => (400, "no_frames"),
            Bad::NotBase64 => (400, "bad_base64"),
            Bad::UnknownField => (400, "malformed_json"),
            Bad::NoContentType => (400, "unsupported_media_type"),
            Bad::NoToken => (401, "missing_token"),
            Bad::InvalidUserId => (400, "bad_user_id"),
            Bad::DeleteStranger => (404, "not_found"),
            Bad::NoFaceEnroll => (422, "no_usable_photo"),
        }
    }

    /// Whether the request names a user id that must never exist afterwards.
    pub fn names_probe(self) -> bool {
        matches!(self, Bad::NoToken | Bad::DeleteStranger | Bad::NoFaceEnroll)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Enroll a new user (or a target before the traffic) with one photo.
    EnrollNew,
    /// Add another photo to an enrolled user.
    EnrollMore,
    /// Enroll a deleted user again.
    Reenroll,
    /// 1:1 login with the user's own face: must be accepted.
    Genuine,
    /// 1:1 login claiming a target user with someone else's face: must be refused (401,
    /// or 429 once the lockout engaged).
    Impostor,
    /// 1:N login: must be accepted as a user of the same person.
    Identify,
    Delete,
    Bad(Bad),
    /// The consistency check's 1:1 login of an enrolled user (must be accepted).
    CheckEnrolled,
    /// The consistency check's 1:1 login of a deleted user (must be refused).
    CheckDeleted,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::EnrollNew => "enroll_new",
            Action::EnrollMore => "enroll_more",
            Action::Reenroll => "reenroll",
            Action::Genuine => "login_genuine",
            Action::Impostor => "login_impostor",
            Action::Identify => "identify_1n",
            Action::Delete => "delete",
            Action::Bad(_) => "bad_request",
            Action::CheckEnrolled => "check_login_enrolled",
            Action::CheckDeleted => "check_login_deleted",
        }
    }

    pub fn endpoint(self) -> Endpoint {
        match self {
            Action::EnrollNew | Action::EnrollMore | Action::Reenroll => Endpoint::Enroll,
            Action::Delete => Endpoint::Delete,
            Action::Bad(b) => match b {
                Bad::NoToken | Bad::InvalidUserId | Bad::NoFaceEnroll => Endpoint::Enroll,
                Bad::DeleteStranger => Endpoint::Delete,
                Bad::NoFrames | Bad::NotBase64 | Bad::UnknownField | Bad::NoContentType => {
                    Endpoint::Authenticate
                }
            },
            Action::Genuine
            | Action::Impostor
            | Action::Identify
            | Action::CheckEnrolled
            | Action::CheckDeleted => Endpoint::Authenticate,
        }
    }
}

/// One planned request.
#[derive(Debug, Clone)]
pub struct Op {
    pub seq: u64,
    pub action: Action,
    /// The user the request is about (path or claimed `user_id`).
    pub user: Option<String>,
    /// Whose face is sent (index into [`Fixtures::people`]).
    pub person: usize,
    /// Which of that person's enrollment photos.
    pub photo: usize,
    /// Which impostor source address (impostor logins only).
    pub source: usize,
    /// Faces the ledger holds for the user (what a delete must remove).
    pub faces: usize,
}

/// The HTTP request for `op`.
pub fn request<'a>(op: &Op, fx: &Fixtures, token: &'a str, request_id: String) -> Request<'a> {
    let user = op.user.clone().unwrap_or_default();
    let face = &fx.people[op.person];
    let photo = || face.enroll[op.photo % face.enroll.len()].clone();
    let login = |user: Option<&str>| {
        let mut body = json!({ "frames": [face.login] });
        if let Some(u) = user {
            body["user_id"] = json!(u);
        }
        Request::new(Method::POST, "/v1/authenticate", request_id.clone()).json(body)
    };
    let enroll = |user: &str, image: String| {
        Request::new(
            Method::POST,
            format!("/v1/users/{user}/faces"),
            request_id.clone(),
        )
        .json(json!({ "images": [image] }))
        .token(token)
    };
    match op.action {
        Action::EnrollNew | Action::EnrollMore | Action::Reenroll => enroll(&user, photo()),
        Action::Genuine | Action::Impostor | Action::CheckEnrolled | Action::CheckDeleted => {
            login(Some(&user))
        }
        Action::Identify => login(None),
        Action::Delete => {
            Request::new(Method::DELETE, format!("/v1/users/{user}"), request_id).token(token)
        }
        Action::Bad(b) => match b {
            Bad::NoFrames => Request::new(Method::POST, "/v1/authenticate", request_id)
                .json(json!({ "frames": [] })),
            Bad::NotBase64 => Request::new(Method::POST, "/v1/authenticate", request_id)
                .json(json!({ "frames": ["%%% not base64 %%%"] })),
            Bad::UnknownField => Request::new(Method::POST, "/v1/authenticate", request_id)
                .json(json!({ "frames": [face.login], "password": "hunter2" })),
            Bad::NoContentType => {
                let mut r = login(None);
                r.content_type = Some("text/plain");
                r
            }
            Bad::NoToken => {
                let mut r = enroll(&user, photo());
                r.token = None;
                r
            }
            Bad::InvalidUserId => enroll("not!a user", photo()),
            Bad::DeleteStranger => {
                Request::new(Method::DELETE, format!("/v1/users/{user}"), request_id).token(token)
            }
            Bad::NoFaceEnroll => enroll(&user, fx.no_face.clone()),
        },
    }
}

/// What an answer changes in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Nothing,
    /// Faces acknowledged (their ids).
    Enrolled(Vec<String>),
    Deleted,
    /// No definite answer: the user's state is unknown from now on.
    Uncertain,
}

/// The judgement of one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `None` when the answer is what this request must get.
    pub error: Option<String>,
    pub effect: Effect,
    /// An impostor (or a 1:N login of another person) was accepted.
    pub wrong_accept: bool,
    /// A genuine login was refused.
    pub false_reject: bool,
    /// A 429 (lockout) answered an impostor login.
    pub locked: bool,
}

impl Verdict {
    fn ok(effect: Effect) -> Self {
        Self {
            error: None,
            effect,
            wrong_accept: false,
            false_reject: false,
            locked: false,
        }
    }
    fn err(error: String, effect: Effect) -> Self {
        Self {
            error: Some(error),
            ..Self::ok(effect)
        }
    }
}

fn describe(ans: &Answer) -> String {
    match (ans.status, &ans.transport) {
        (Some(s), _) => format!("HTTP {s} {}", ans.code()),
        (None, Some(t)) => t.clone(),
        (None, None) => "no answer".into(),
    }
}

/// Judges `ans` to `op`. `person_of` names the person behind a user id per the ledger
/// (for 1:N answers), `face_person` is the person whose face was sent.
pub fn judge(
    op: &Op,
    ans: &Answer,
    face_person: &str,
    person_of: impl Fn(&str) -> Option<String>,
) -> Verdict {
    let indefinite = ans.status.is_none_or(|s| s >= 500);
    if indefinite {
        // A 5xx or a lost answer: the request may or may not have taken effect.
        let effect = match op.action {
            Action::Genuine
            | Action::Impostor
            | Action::Identify
            | Action::CheckEnrolled
            | Action::CheckDeleted => Effect::Nothing,
            _ => Effect::Uncertain,
        };
        return Verdict::err(describe(ans), effect);
    }
    let status = ans.status.unwrap_or_default();
    let body = &ans.body;
    let accepted = status == 200 && body["authenticated"] == Value::Bool(true);
    let returned = body["user_id"].as_str().unwrap_or_default();
    match op.action {
        Action::EnrollNew | Action::EnrollMore | Action::Reenroll => {
            if status != 201 {
                return Verdict::err(describe(ans), Effect::Nothing);
            }
            let ids = face_ids(body);
            let refused = body["rejected"].as_array().map_or(0, Vec::len);
            if ids.is_empty() {
                Verdict::err("201 without face ids".into(), Effect::Nothing)
            } else if refused > 0 {
                Verdict::err(format!("{refused} photo(s) refused"), Effect::Enrolled(ids))
            } else {
                Verdict::ok(Effect::Enrolled(ids))
            }
        }
        Action::Genuine | Action::CheckEnrolled => {
            let claimed = op.user.as_deref().unwrap_or_default();
            if accepted && returned == claimed {
                Verdict::ok(Effect::Nothing)
            } else if accepted {
                Verdict {
                    wrong_accept: true,
                    ..Verdict::err(format!("accepted as {returned:?}"), Effect::Nothing)
                }
            } else {
                Verdict {
                    false_reject: status == 401,
                    ..Verdict::err(describe(ans), Effect::Nothing)
                }
            }
        }
        Action::Impostor | Action::CheckDeleted => {
            if accepted {
                Verdict {
                    wrong_accept: true,
                    ..Verdict::err(format!("accepted as {returned:?}"), Effect::Nothing)
                }
            } else if status == 401 && ans.code() == "no_match" {
                Verdict::ok(Effect::Nothing)
            } else if status == 429 {
                Verdict {
                    locked: true,
                    ..Verdict::ok(Effect::Nothing)
                }
            } else {
                Verdict::err(describe(ans), Effect::Nothing)
            }
        }
        Action::Identify => {
            // The policy runs 1:N only on small galleries, and the soak enrols each face
            // under many ids (ambiguous): refusing is a right answer, a wrong person never.
            let refusals = ["identification_unavailable", "no_match"];
            if !accepted && status == 401 && refusals.contains(&ans.code()) {
                return Verdict::ok(Effect::Nothing);
            }
            // A 1:N failure is charged to the nearest person too, and impostor traffic may
            // have locked that person: a refusal as well.
            if status == 429 {
                return Verdict::ok(Effect::Nothing);
            }
            if !accepted {
                return Verdict {
                    false_reject: status == 401,
                    ..Verdict::err(describe(ans), Effect::Nothing)
                };
            }
            match person_of(returned) {
                Some(p) if p == face_person => Verdict::ok(Effect::Nothing),
                Some(p) => Verdict {
                    wrong_accept: true,
                    ..Verdict::err(
                        format!("{face_person}'s face accepted as {returned} ({p})"),
                        Effect::Nothing,
                    )
                },
                None => Verdict::err(
                    format!("accepted as {returned:?}, a user this run never enrolled"),
                    Effect::Nothing,
                ),
            }
        }
        Action::Delete => {
            let n = |k: &str| body[k].as_u64().unwrap_or(u64::MAX);
            match status {
                200 if n("deleted_faces") == op.faces as u64
                    && n("deleted_photos") == op.faces as u64 =>
                {
                    Verdict::ok(Effect::Deleted)
                }
                200 => Verdict::err(
                    format!(
                        "deleted {} faces / {} photos, the ledger had {}",
                        body["deleted_faces"], body["deleted_photos"], op.faces
                    ),
                    Effect::Deleted,
                ),
                // The server holds nothing for a user the ledger says is enrolled.
                404 => Verdict::err("404: acknowledged faces are gone".into(), Effect::Deleted),
                _ => Verdict::err(describe(ans), Effect::Nothing),
            }
        }
        Action::Bad(b) => {
            let (want_status, want_code) = b.expected();
            if status == want_status && ans.code() == want_code {
                Verdict::ok(Effect::Nothing)
            } else if status == 201 {
                // Accepted after all: keep the ledger truthful.
                Verdict::err(format!("{b:?}: accepted"), Effect::Enrolled(face_ids(body)))
            } else {
                Verdict::err(
                    format!("{b:?}: {} (want {want_status} {want_code})", describe(ans)),
                    Effect::Nothing,
                )
            }
        }
    }
}

/// The face ids of an enrollment answer (`{"faces": [{"face_id": …}, …]}`).
fn face_ids(body: &Value) -> Vec<String> {
    body["faces"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["face_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn op(action: Action, user: &str) -> Op {
        Op {
            seq: 0,
            action,
            user: Some(user.into()),
            person: 0,
            photo: 0,
            source: 0,
            faces: 2,
        }
    }

    fn ans(status: u16, body: Value) -> Answer {
        Answer {
            status: Some(status),
            body,
            latency: Duration::ZERO,
            transport: None,
        }
    }

    fn nobody(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn enrollments_yield_their_face_ids() {
        let a = ans(
            201,
            json!({"user_id": "u", "faces": [{"index": 0, "face_id": "f1"}], "rejected": []}),
        );
        let v = judge(&op(Action::EnrollNew, "u"), &a, "obama", nobody);
        assert_eq!(v, Verdict::ok(Effect::Enrolled(vec!["f1".into()])));
        let refused = ans(422, json!({"error": {"code": "no_usable_photo"}}));
        let v = judge(&op(Action::EnrollMore, "u"), &refused, "obama", nobody);
        assert_eq!(v.effect, Effect::Nothing);
        assert_eq!(v.error.as_deref(), Some("HTTP 422 no_usable_photo"));
        let lost = Answer {
            status: None,
            body: Value::Null,
            latency: Duration::ZERO,
            transport: Some("timeout".into()),
        };
        assert_eq!(
            judge(&op(Action::Reenroll, "u"), &lost, "obama", nobody).effect,
            Effect::Uncertain
        );
    }

    #[test]
    fn logins_are_judged_by_who_was_accepted() {
        let yes = |u: &str| ans(200, json!({"authenticated": true, "user_id": u}));
        let no = ans(401, json!({"authenticated": false, "reason": "no_match"}));
        let locked = ans(429, json!({"error": {"code": "too_many_attempts"}}));
        let g = op(Action::Genuine, "u");
        assert_eq!(judge(&g, &yes("u"), "obama", nobody).error, None);
        assert!(judge(&g, &no, "obama", nobody).false_reject);
        assert!(judge(&g, &yes("v"), "obama", nobody).wrong_accept);
        let i = op(Action::Impostor, "t");
        assert_eq!(
            judge(&i, &no, "biden", nobody),
            Verdict::ok(Effect::Nothing)
        );
        assert!(judge(&i, &locked, "biden", nobody).locked);
        assert!(judge(&i, &locked, "biden", nobody).error.is_none());
        assert!(judge(&i, &yes("t"), "biden", nobody).wrong_accept);
        let no_face = ans(401, json!({"authenticated": false, "reason": "no_face"}));
        assert!(judge(&i, &no_face, "biden", nobody).error.is_some());
        let n = op(Action::Identify, "");
        let person = |u: &str| Some(if u == "a" { "obama" } else { "tom" }.to_owned());
        assert_eq!(judge(&n, &yes("a"), "obama", person).error, None);
        assert!(judge(&n, &yes("b"), "obama", person).wrong_accept);
        assert!(judge(&n, &yes("x"), "obama", nobody).error.is_some());
        assert_eq!(judge(&n, &locked, "obama", nobody).error, None);
    }

    #[test]
    fn deletes_must_remove_what_the_ledger_holds() {
        let d = op(Action::Delete, "u");
        let ok = ans(200, json!({"deleted_faces": 2, "deleted_photos": 2}));
        assert_eq!(judge(&d, &ok, "-", nobody), Verdict::ok(Effect::Deleted));
        let short = ans(200, json!({"deleted_faces": 1, "deleted_photos": 1}));
        assert!(judge(&d, &short, "-", nobody).error.is_some());
        let gone = ans(404, json!({"error": {"code": "not_found"}}));
        assert_eq!(judge(&d, &gone, "-", nobody).effect, Effect::Deleted);
        assert!(judge(&d, &gone, "-", nobody).error.is_some());
    }

    #[test]
    fn bad_requests_need_their_exact_error() {
        for b in Bad::ALL {
            let (s, code) = b.expected();
            let o = op(Action::Bad(b), "p");
            let a = ans(s, json!({"error": {"code": code, "message": "…"}}));
            assert_eq!(judge(&o, &a, "-", nobody), Verdict::ok(Effect::Nothing));
            let wrong = ans(s, json!({"error": {"code": "other"}}));
            assert!(judge(&o, &wrong, "-", nobody).error.is_some());
            assert!(judge(&o, &ans(s, Value::Null), "-", nobody).error.is_some());
        }
        let server = ans(500, json!({"error": {"code": "internal"}}));
        let v = judge(
            &op(Action::Bad(Bad::NoFaceEnroll), "p"),
            &server,
            "-",
            nobody,
        );
        assert_eq!(v.effect, Effect::Uncertain);
    }
}
