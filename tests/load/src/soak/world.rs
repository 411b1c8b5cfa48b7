//! The shared state of a soak run: the ledger, which users a request is in flight for,
//! and the tallies. Workers plan under its lock and apply answers under it; requests to
//! one user never overlap with a delete or a (re-)enrollment of that user, so the ledger
//! knows the order the server saw — concurrent top-ups and logins of a user may overlap.

use super::http::Answer;
use super::ledger::{audited, Ledger, Role, User, UserState};
use super::rng::Rng;
use super::traffic::{judge, Action, Bad, Effect, Op, Verdict};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The service's `max_templates_per_user` (faceid_core::policy::CALIBRATED).
const MAX_FACES_PER_USER: usize = 4;

/// Relative frequency of each kind of request (sums to 100).
pub const MIX: [(Action, u32); 8] = [
    (Action::Genuine, 36),
    (Action::Impostor, 14),
    (Action::Identify, 6),
    (Action::EnrollNew, 10),
    (Action::EnrollMore, 8),
    (Action::Reenroll, 6),
    (Action::Delete, 10),
    (Action::Bad(Bad::NoFrames), 10),
];

/// Impostor logins come from this many loopback addresses (127.1.0.1…), so the
/// per-address lockout engages now and then rather than on every attempt.
pub const IMPOSTOR_SOURCES: usize = 16;

#[derive(Debug, Default)]
struct Busy {
    shared: u32,
    exclusive: bool,
}

/// Counts of what happened.
#[derive(Debug, Default)]
pub struct Tally {
    /// kind → status ("200", "transport", …) → count.
    pub by_kind: BTreeMap<&'static str, BTreeMap<String, usize>>,
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
    /// "kind: what went wrong" → count.
    pub errors: BTreeMap<String, usize>,
    pub wrong_accepts: usize,
    pub false_rejects: usize,
    pub impostor_locked: usize,
    pub requests: usize,
}

impl Tally {
    pub fn record(&mut self, action: Action, ans: &Answer, v: &Verdict) {
        let kind = action.label();
        let status = ans
            .status
            .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        *self
            .by_kind
            .entry(kind)
            .or_default()
            .entry(status)
            .or_default() += 1;
        self.latencies.entry(kind).or_default().push(ans.latency);
        if let Some(e) = &v.error {
            *self.errors.entry(format!("{kind}: {e}")).or_default() += 1;
        }
        self.wrong_accepts += usize::from(v.wrong_accept);
        self.false_rejects += usize::from(v.false_reject);
        self.impostor_locked += usize::from(v.locked);
        self.requests += 1;
    }

    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

pub struct World {
    pub ledger: Ledger,
    pub tally: Tally,
    busy: HashMap<String, Busy>,
    /// Planned but not yet applied (seq → op): what an abort leaves undecided.
    in_flight: BTreeMap<u64, Op>,
    max_users: usize,
    people: Vec<(String, usize)>,
}

impl World {
    /// `people`: each person's name and number of enrollment photos.
    pub fn new(ledger: Ledger, max_users: usize, people: Vec<(String, usize)>) -> Self {
        Self {
            ledger,
            tally: Tally::default(),
            busy: HashMap::new(),
            in_flight: BTreeMap::new(),
            max_users,
            people,
        }
    }

    fn person_index(&self, name: &str) -> usize {
        self.people.iter().position(|p| p.0 == name).unwrap_or(0)
    }

    fn new_op(&mut self, action: Action, user: Option<String>, person: usize) -> Op {
        Op {
            seq: self.ledger.take_seq(),
            action,
            user,
            person,
            photo: 0,
            source: 0,
            faces: 0,
        }
    }

    fn idle(&self, id: &str) -> bool {
        self.busy
            .get(id)
            .is_none_or(|b| b.shared == 0 && !b.exclusive)
    }

    fn not_exclusive(&self, id: &str) -> bool {
        self.busy.get(id).is_none_or(|b| !b.exclusive)
    }

    /// Regular users in `state`-matching condition that `free` lets us use.
    fn candidates(&self, present: bool, free: impl Fn(&str) -> bool) -> Vec<String> {
        self.ledger
            .users
            .iter()
            .filter(|(id, u)| {
                u.role == Role::Regular
                    && free(id)
                    && match &u.state {
                        UserState::Present { .. } => present,
                        UserState::Deleted => !present,
                        _ => false,
                    }
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn hold(&mut self, op: &Op, exclusive: bool) {
        if let Some(u) = &op.user {
            let b = self.busy.entry(u.clone()).or_default();
            if exclusive {
                b.exclusive = true;
            } else {
                b.shared += 1;
            }
        }
    }

    fn release(&mut self, op: &Op) {
        let Some(u) = &op.user else { return };
        let exclusive = matches!(
            op.action,
            Action::EnrollNew | Action::Reenroll | Action::Delete
        );
        if let Some(b) = self.busy.get_mut(u) {
            if exclusive {
                b.exclusive = false;
            } else {
                b.shared = b.shared.saturating_sub(1);
            }
            if b.shared == 0 && !b.exclusive {
                self.busy.remove(u);
            }
        }
    }

    /// The enrollment of a permanent impostor target before the traffic.
    pub fn plan_target(&mut self, person: usize, k: usize) -> Op {
        let name = self.people[person].0.clone();
        let id = format!("soak-target-{name}-{k}");
        self.ledger.users.insert(
            id.clone(),
            User {
                person: name,
                role: Role::Target,
                state: UserState::Absent,
            },
        );
        let op = self.new_op(Action::EnrollNew, Some(id), person);
        self.hold(&op, true);
        self.in_flight.insert(op.seq, op.clone());
        op
    }

    /// A login of the consistency check (not part of the traffic's mix).
    pub fn plan_check(&mut self, action: Action, user: String) -> Op {
        let person = self
            .ledger
            .person_of(&user)
            .map(str::to_owned)
            .map_or(0, |p| self.person_index(&p));
        let op = self.new_op(action, Some(user), person);
        self.in_flight.insert(op.seq, op.clone());
        op
    }

    /// Draws a kind from [`MIX`] and plans it; a kind nothing is eligible for falls back
    /// to the next possible one (enroll new → re-enroll → top up → genuine → bad).
    pub fn plan(&mut self, rng: &mut Rng) -> Op {
        let weights: Vec<u32> = MIX.iter().map(|m| m.1).collect();
        let first = rng.weighted(&weights).map_or(Action::Genuine, |i| MIX[i].0);
        let first = match first {
            Action::Bad(_) => Action::Bad(*rng.pick(&Bad::ALL).unwrap_or(&Bad::NoFrames)),
            a => a,
        };
        let chain = [
            first,
            Action::EnrollNew,
            Action::Reenroll,
            Action::EnrollMore,
            Action::Genuine,
        ];
        let op = chain
            .into_iter()
            .find_map(|a| self.try_plan(rng, a))
            .unwrap_or_else(|| self.new_op(Action::Bad(Bad::NoFrames), None, 0));
        self.in_flight.insert(op.seq, op.clone());
        op
    }

    fn try_plan(&mut self, rng: &mut Rng, action: Action) -> Option<Op> {
        let people = self.people.len();
        match action {
            Action::EnrollNew => {
                if self.ledger.next_user >= self.max_users {
                    return None;
                }
                let id = format!("soak-{}", self.ledger.next_user);
                self.ledger.next_user += 1;
                let person = rng.below(people);
                self.ledger.users.insert(
                    id.clone(),
                    User {
                        person: self.people[person].0.clone(),
                        role: Role::Regular,
                        state: UserState::Absent,
                    },
                );
                let mut op = self.new_op(action, Some(id), person);
                op.photo = rng.below(self.people[person].1);
                self.hold(&op, true);
                Some(op)
            }
            Action::Reenroll | Action::Delete => {
                let present = action == Action::Delete;
                let id = rng
                    .pick(&self.candidates(present, |id| self.idle(id)))?
                    .clone();
                let user = &self.ledger.users[&id];
                let person = self.person_index(&user.person);
                let faces = match &user.state {
                    UserState::Present { faces } => faces.len(),
                    _ => 0,
                };
                let mut op = self.new_op(action, Some(id), person);
                op.photo = rng.below(self.people[person].1);
                op.faces = faces;
                self.hold(&op, true);
                Some(op)
            }
            Action::EnrollMore | Action::Genuine => {
                // The server refuses a face past its per-user limit (409 face_limit).
                let room = |id: &str| match &self.ledger.users[id].state {
                    UserState::Present { faces } => faces.len() < MAX_FACES_PER_USER,
                    _ => true,
                };
                let free =
                    |id: &str| self.not_exclusive(id) && (action != Action::EnrollMore || room(id));
                let id = rng.pick(&self.candidates(true, free))?.clone();
                let person = self.person_index(&self.ledger.users[&id].person);
                let mut op = self.new_op(action, Some(id), person);
                op.photo = rng.below(self.people[person].1);
                self.hold(&op, false);
                Some(op)
            }
            Action::Impostor => {
                let targets: Vec<(String, usize)> = self
                    .ledger
                    .users
                    .iter()
                    .filter(|(_, u)| {
                        u.role == Role::Target && matches!(u.state, UserState::Present { .. })
                    })
                    .map(|(id, u)| (id.clone(), self.person_index(&u.person)))
                    .collect();
                let (id, own) = rng.pick(&targets)?.clone();
                if people < 2 {
                    return None;
                }
                // Anyone but the target's own person.
                let person = (own + 1 + rng.below(people - 1)) % people;
                let mut op = self.new_op(action, Some(id), person);
                op.source = rng.below(IMPOSTOR_SOURCES);
                Some(op)
            }
            Action::Identify => {
                let person = rng.below(people);
                Some(self.new_op(action, None, person))
            }
            Action::Bad(b) => {
                let seq = self.ledger.next_seq;
                let user = b.names_probe().then(|| format!("soak-probe-{seq}"));
                if let Some(id) = &user {
                    self.ledger.users.insert(
                        id.clone(),
                        User {
                            person: "-".into(),
                            role: Role::Probe,
                            state: UserState::Absent,
                        },
                    );
                }
                let person = rng.below(people);
                let mut op = self.new_op(action, user, person);
                op.photo = rng.below(self.people[person].1);
                Some(op)
            }
            Action::CheckEnrolled | Action::CheckDeleted => None,
        }
    }

    /// Records the answer to `op`: ledger, audit expectation, tallies; frees the user.
    pub fn apply(&mut self, op: &Op, ans: &Answer) -> Verdict {
        self.in_flight.remove(&op.seq);
        let face_person = self.people[op.person].0.clone();
        let v = {
            let ledger = &self.ledger;
            judge(op, ans, &face_person, |u| {
                ledger.person_of(u).map(str::to_owned)
            })
        };
        self.ledger
            .note_audit(op.seq, audited(op.action.endpoint(), ans.status));
        if let Some(id) = &op.user {
            if let Some(user) = self.ledger.users.get_mut(id) {
                match &v.effect {
                    Effect::Nothing => {}
                    Effect::Enrolled(ids) => {
                        if !matches!(user.state, UserState::Present { .. } | UserState::Uncertain) {
                            user.state = UserState::Present { faces: vec![] };
                        }
                        if let UserState::Present { faces } = &mut user.state {
                            // A face id the server returns again is the same face: face
                            // ids may derive from (user, photo), making a re-upload of a
                            // photo a no-op rather than a second template.
                            for id in ids {
                                if !faces.contains(id) {
                                    faces.push(id.clone());
                                }
                            }
                        }
                    }
                    Effect::Deleted => user.state = UserState::Deleted,
                    Effect::Uncertain => user.state = UserState::Uncertain,
                }
            }
        }
        self.release(op);
        self.tally.record(op.action, ans, &v);
        v
    }

    /// Requests cut off by the hard time limit: no answer, so their users are uncertain.
    pub fn abandon_in_flight(&mut self) -> usize {
        let ops: Vec<Op> = std::mem::take(&mut self.in_flight).into_values().collect();
        for op in &ops {
            let ans = Answer {
                status: None,
                body: serde_json::Value::Null,
                latency: Duration::ZERO,
                transport: Some("aborted at the time limit".into()),
            };
            self.apply(op, &ans);
        }
        ops.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn world(max_users: usize) -> World {
        World::new(
            Ledger::new("t".into(), 1),
            max_users,
            vec![("obama".into(), 2), ("biden".into(), 1)],
        )
    }

    fn answer(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status: Some(status),
            body,
            latency: Duration::from_millis(5),
            transport: None,
        }
    }

    #[test]
    fn a_user_is_never_deleted_while_enrolled_or_logged_into() {
        let mut w = world(1);
        let mut rng = Rng::new(3);
        let enroll = w.try_plan(&mut rng, Action::EnrollNew).unwrap();
        let id = enroll.user.clone().unwrap();
        // Not yet acknowledged: nothing may touch it.
        assert!(w.try_plan(&mut rng, Action::Genuine).is_none());
        assert!(
            w.try_plan(&mut rng, Action::EnrollNew).is_none(),
            "max_users"
        );
        w.apply(
            &enroll,
            &answer(201, json!({"faces": [{"face_id": "f1"}], "rejected": []})),
        );
        let login = w.try_plan(&mut rng, Action::Genuine).unwrap();
        let more = w.try_plan(&mut rng, Action::EnrollMore).unwrap();
        assert_eq!(more.user.as_deref(), Some(id.as_str()));
        assert!(w.try_plan(&mut rng, Action::Delete).is_none(), "busy");
        w.apply(
            &login,
            &answer(200, json!({"authenticated": true, "user_id": id})),
        );
        w.apply(
            &more,
            &answer(201, json!({"faces": [{"face_id": "f2"}], "rejected": []})),
        );
        // The same photo again: the server may answer with the same face id.
        let again = w.try_plan(&mut rng, Action::EnrollMore).unwrap();
        w.apply(
            &again,
            &answer(201, json!({"faces": [{"face_id": "f2"}], "rejected": []})),
        );
        let del = w.try_plan(&mut rng, Action::Delete).unwrap();
        assert_eq!(del.faces, 2);
        assert!(w.try_plan(&mut rng, Action::Genuine).is_none());
        w.apply(
            &del,
            &answer(200, json!({"deleted_faces": 2, "deleted_photos": 2})),
        );
        assert_eq!(w.ledger.users[&id].state, UserState::Deleted);
        assert!(w.try_plan(&mut rng, Action::Reenroll).is_some());
        assert_eq!(w.tally.error_count(), 0);
        // Enroll, login, two top-ups and delete are audited; nothing else was sent.
        assert_eq!(w.ledger.audited.len(), 5);
    }

    #[test]
    fn plans_fall_back_and_abandoned_requests_make_users_uncertain() {
        let mut w = world(2);
        let mut rng = Rng::new(5);
        // Nothing enrolled yet: every draw must still yield a request.
        let ops: Vec<Op> = (0..6).map(|_| w.plan(&mut rng)).collect();
        assert!(ops
            .iter()
            .all(|o| o.action != Action::Genuine && o.action != Action::Delete));
        let enrolls = ops.iter().filter(|o| o.action == Action::EnrollNew).count();
        assert!(enrolls <= 2);
        assert_eq!(w.abandon_in_flight(), 6);
        assert!(w
            .ledger
            .users
            .values()
            .filter(|u| u.role == Role::Regular)
            .all(|u| u.state == UserState::Uncertain));
        assert_eq!(w.ledger.maybe_audited.len(), 6);
    }
}
