//! The contract every adapter meets, written once against the ports and run against the
//! embedded adapters and the AWS/MongoDB adapters on real emulators.

use super::{event, now_ms, template, unique};
use faceid_core::audit::{AuditEvent, AuditQuery};
use faceid_core::lockout::{LockoutKey, LockoutPolicy};
use faceid_core::ports::{
    AuditLog, ChallengeStore, CounterStore, FailureCounter, GrantTaken, ImageStore, PutTemplate,
    Redeemed, SeenFrames, SessionStore, TemplateStore, UploadGrants, UserSummary,
    UPLOAD_GRANT_GRACE,
};
use faceid_core::replay::FrameDigest;
use faceid_core::{Challenge, ChallengeId, Turn, UserId};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

fn uid(s: &str) -> UserId {
    UserId::parse(s).expect("valid user id")
}

/// Idempotent put, per-user and full listings, delete, gallery version.
pub async fn templates(store: &dyn TemplateStore) {
    let alice = unique("alice");
    let bob = unique("bob");
    let t0 = now_ms();
    let a1 = template(&alice, 1, t0);
    let a2 = template(&alice, 2, t0 + Duration::seconds(1));
    let b1 = template(&bob, 3, t0);

    let v0 = store.gallery_version().await.unwrap();
    assert!(store.put_template(&a1).await.unwrap(), "first put stores");
    let v1 = store.gallery_version().await.unwrap();
    assert_ne!(v1, v0, "a put changes the gallery version");

    // A redelivered template (same user + face id) changes nothing, even with other data.
    let mut again = a1.clone();
    again.model_id = "something-else".into();
    assert!(
        !store.put_template(&again).await.unwrap(),
        "second put is a no-op"
    );
    assert_eq!(store.gallery_version().await.unwrap(), v1);

    assert!(store.put_template(&a2).await.unwrap());
    assert!(store.put_template(&b1).await.unwrap());

    // Round trip is exact (descriptor bits, source, created_at), ordered by created_at.
    assert_eq!(
        store.user_templates(&uid(&alice)).await.unwrap(),
        vec![a1.clone(), a2.clone()]
    );
    assert_eq!(
        store.user_templates(&uid(&bob)).await.unwrap(),
        vec![b1.clone()]
    );
    assert!(store
        .user_templates(&uid(&unique("nobody")))
        .await
        .unwrap()
        .is_empty());

    let mut all = store.all_templates().await.unwrap();
    all.sort_by_key(|t| t.face_id);
    let mut want = vec![a1.clone(), a2.clone(), b1.clone()];
    want.sort_by_key(|t| t.face_id);
    assert_eq!(all, want);

    let mut users = store.list_users().await.unwrap();
    users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    assert_eq!(
        users,
        vec![
            UserSummary {
                user_id: uid(&alice),
                faces: 2
            },
            UserSummary {
                user_id: uid(&bob),
                faces: 1
            },
        ]
    );

    let before_delete = store.gallery_version().await.unwrap();
    assert_eq!(store.delete_user(&uid(&alice)).await.unwrap(), 2);
    assert_ne!(
        store.gallery_version().await.unwrap(),
        before_delete,
        "a delete changes the version"
    );
    assert!(store.user_templates(&uid(&alice)).await.unwrap().is_empty());
    assert_eq!(store.all_templates().await.unwrap(), vec![b1.clone()]);
    assert_eq!(
        store.list_users().await.unwrap(),
        vec![UserSummary {
            user_id: uid(&bob),
            faces: 1
        }]
    );
    assert_eq!(store.delete_user(&uid(&alice)).await.unwrap(), 0);

    // A deleted face can be enrolled again.
    assert!(store.put_template(&a1).await.unwrap());
    assert_eq!(store.user_templates(&uid(&alice)).await.unwrap(), vec![a1]);
}

/// Many faces: listings must follow pagination.
pub async fn many_templates(store: &dyn TemplateStore, n: u32) {
    let user = unique("many");
    let t0 = now_ms();
    for i in 0..n {
        assert!(store
            .put_template(&template(
                &user,
                i,
                t0 + Duration::milliseconds(i64::from(i))
            ))
            .await
            .unwrap());
    }
    assert_eq!(
        store.user_templates(&uid(&user)).await.unwrap().len(),
        n as usize
    );
    assert_eq!(store.all_templates().await.unwrap().len(), n as usize);
    assert_eq!(store.delete_user(&uid(&user)).await.unwrap(), n as usize);
    assert!(store.all_templates().await.unwrap().is_empty());
}

/// Single use: Fresh once, then AlreadyUsed; Unknown for ids never stored; exactly one
/// winner among concurrent redeemers.
pub async fn challenges(store: Arc<dyn ChallengeStore>) {
    let now = OffsetDateTime::now_utc();
    let c = Challenge::new(now, Duration::seconds(60));
    store.put_challenge(&c).await.unwrap();
    assert_eq!(
        store.redeem_challenge(&c.id).await.unwrap(),
        Redeemed::Fresh(c.clone())
    );
    assert_eq!(
        store.redeem_challenge(&c.id).await.unwrap(),
        Redeemed::AlreadyUsed
    );
    assert_eq!(
        store
            .redeem_challenge(&ChallengeId::random())
            .await
            .unwrap(),
        Redeemed::Unknown
    );

    // Every kind of step, and the issue time to the nanosecond (the answer window is
    // measured from it), come back as stored.
    for steps in [
        vec![Turn::Left, Turn::Up, Turn::Right, Turn::Down],
        vec![Turn::Down, Turn::Right, Turn::Left],
    ] {
        let mut c = Challenge::new(now, Duration::seconds(60));
        c.steps = steps;
        c.issued_at = now.replace_nanosecond(123_456_789).unwrap();
        store.put_challenge(&c).await.unwrap();
        assert_eq!(
            store.redeem_challenge(&c.id).await.unwrap(),
            Redeemed::Fresh(c.clone())
        );
    }

    // Expired challenges are still returned: the caller checks expiry.
    let old = Challenge::new(now - Duration::minutes(5), Duration::seconds(60));
    store.put_challenge(&old).await.unwrap();
    assert_eq!(
        store.redeem_challenge(&old.id).await.unwrap(),
        Redeemed::Fresh(old.clone())
    );

    let raced = Challenge::new(now, Duration::seconds(60));
    store.put_challenge(&raced).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let id = raced.id;
            tokio::spawn(async move { store.redeem_challenge(&id).await.unwrap() })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        match t.await.unwrap() {
            Redeemed::Fresh(got) => {
                assert_eq!(got, raced);
                fresh += 1;
            }
            Redeemed::AlreadyUsed => {}
            Redeemed::Unknown => panic!("a stored challenge was reported unknown"),
        }
    }
    assert_eq!(fresh, 1, "exactly one concurrent redeem wins");
}

fn counter(count: u32, now: OffsetDateTime) -> FailureCounter {
    FailureCounter {
        count,
        window_start: now.replace_nanosecond(0).unwrap(),
        locked_until: (count >= 5)
            .then(|| (now + Duration::minutes(3)).replace_nanosecond(0).unwrap()),
        lockouts: u32::from(count >= 5) * 2,
        last_locked_at: (count >= 5).then(|| now.replace_nanosecond(0).unwrap()),
    }
}

/// Compare-and-set with versions, expiry, delete, and a real race.
pub async fn counters(store: Arc<dyn CounterStore>) {
    let now = OffsetDateTime::now_utc();
    let exp = now + Duration::minutes(5);
    let key = unique("user:alice");
    assert_eq!(store.load_counter(&key).await.unwrap(), None);

    let c1 = counter(1, now);
    assert!(store.store_counter(&key, &c1, None, exp).await.unwrap());
    assert!(
        !store.store_counter(&key, &c1, None, exp).await.unwrap(),
        "must-not-exist fails when it exists"
    );
    let (got, v1) = store.load_counter(&key).await.unwrap().expect("stored");
    assert_eq!(got, c1);

    let c5 = counter(5, now);
    assert!(store.store_counter(&key, &c5, Some(v1), exp).await.unwrap());
    assert!(
        !store.store_counter(&key, &c1, Some(v1), exp).await.unwrap(),
        "a stale version loses"
    );
    let (got, v2) = store.load_counter(&key).await.unwrap().expect("stored");
    assert_eq!(got, c5);
    assert_ne!(v1, v2);

    // Two concurrent writers with the same expected version: exactly one wins.
    let tasks: Vec<_> = (0..2u32)
        .map(|i| {
            let store = Arc::clone(&store);
            let key = key.clone();
            tokio::spawn(async move {
                store
                    .store_counter(&key, &counter(6 + i, now), Some(v2), exp)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1, "exactly one concurrent compare-and-set wins");
    let (got, _) = store.load_counter(&key).await.unwrap().unwrap();
    assert!(got.count == 6 || got.count == 7);

    store.delete_counter(&key).await.unwrap();
    assert_eq!(store.load_counter(&key).await.unwrap(), None);
    store.delete_counter(&key).await.unwrap(); // deleting twice is fine

    // An expired counter reads as absent and can be re-created with `None`.
    let gone = unique("ip:10.0.0.1");
    assert!(store
        .store_counter(&gone, &c1, None, now - Duration::seconds(5))
        .await
        .unwrap());
    assert_eq!(store.load_counter(&gone).await.unwrap(), None);
    assert!(store.store_counter(&gone, &c1, None, exp).await.unwrap());
    assert!(store.load_counter(&gone).await.unwrap().is_some());

    // Twenty concurrent reservations on one key: the compare-and-set admits exactly the
    // five the policy allows and refuses the rest as locked (no lost update, no race).
    let policy = LockoutPolicy::default();
    let hot = LockoutKey::network(&unique("10.9.8.7"));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            let hot = hot.clone();
            tokio::spawn(async move { policy.reserve(store.as_ref(), hot, now).await })
        })
        .collect();
    let (mut admitted, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(Ok(_)) => locked += 1,
            Err(Err(e)) => panic!("reserve: {e}"),
        }
    }
    assert_eq!((admitted, locked), (5, 15));
    let (c, _) = store.load_counter(hot.as_str()).await.unwrap().unwrap();
    assert_eq!(c.lockouts, 1);
    assert!(policy.retry_after(&c, now).is_some());
}

/// How the limit test sends its 8 puts.
pub enum Puts {
    /// All at once: the store must let exactly `MAX` through.
    Concurrent,
    /// One after another. For moto: it rolls a cancelled TransactWriteItems back by
    /// restoring a deep copy of the whole table taken before it ran, so concurrent
    /// transactions undo or resurrect each other's writes (seen: 4 Stored and 4
    /// UserFull, yet 5 templates). DynamoDB's transactions are serialisable; the
    /// concurrent case is covered by the embedded store's run of this contract.
    Sequential,
}

/// The per-user template limit holds under concurrency: 8 different templates put at once
/// for a user with room for 4 → exactly 4 stored, the rest refused; a re-put is `Exists`
/// (not refused, even when full); other users are unaffected; deleting the user frees
/// the room.
pub async fn template_limit<S: TemplateStore + 'static>(store: Arc<S>, puts: Puts) {
    const MAX: usize = 4;
    let alice = unique("alice");
    let t0 = now_ms();
    let mut results = vec![];
    match puts {
        Puts::Concurrent => {
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let (store, t) = (Arc::clone(&store), template(&alice, i, t0));
                    tokio::spawn(
                        async move { (store.put_template_within(&t, MAX).await.unwrap(), t) },
                    )
                })
                .collect();
            for task in tasks {
                results.push(task.await.unwrap());
            }
        }
        Puts::Sequential => {
            for i in 0..8 {
                let t = template(&alice, i, t0);
                results.push((store.put_template_within(&t, MAX).await.unwrap(), t));
            }
        }
    }
    let mut stored = vec![];
    let mut full = 0;
    for result in results {
        match result {
            (PutTemplate::Stored, t) => stored.push(t),
            (PutTemplate::UserFull, _) => full += 1,
            (PutTemplate::Exists, _) => panic!("distinct templates cannot exist already"),
        }
    }
    assert_eq!(
        (stored.len(), full),
        (MAX, 8 - MAX),
        "exactly {MAX} of 8 stored"
    );
    let user = uid(&alice);
    assert_eq!(store.user_templates(&user).await.unwrap().len(), MAX);
    assert_eq!(
        store.put_template_within(&stored[0], MAX).await.unwrap(),
        PutTemplate::Exists
    );
    let bob = template(&unique("bob"), 9, t0);
    assert_eq!(
        store.put_template_within(&bob, MAX).await.unwrap(),
        PutTemplate::Stored
    );
    assert_eq!(store.delete_user(&user).await.unwrap(), MAX);
    for i in 0..MAX as u32 {
        let t = template(&alice, 20 + i, t0);
        assert_eq!(
            store.put_template_within(&t, MAX).await.unwrap(),
            PutTemplate::Stored,
            "room again after deleting the user"
        );
    }
    let one_more = template(&alice, 30, t0);
    assert_eq!(
        store.put_template_within(&one_more, MAX).await.unwrap(),
        PutTemplate::UserFull
    );
}

/// Upload grants: bound to one object version (exactly one concurrent taker wins; the
/// same version again is `SameUpload`, another `OtherUpload`), expiry after the grace,
/// revocation per user; and they share the templates' store without showing up as faces.
pub async fn upload_grants<S: UploadGrants + TemplateStore + 'static>(store: Arc<S>) {
    let now = OffsetDateTime::now_utc();
    let later = now + Duration::minutes(10);
    let alice = uid(&unique("alice"));
    let bob = uid(&unique("bob"));
    store.put_grant(&alice, "up-1", later).await.unwrap();
    let take = |user: &UserId, id: &'static str, version: &'static str| {
        let (store, user) = (Arc::clone(&store), user.clone());
        async move { store.take_grant(&user, id, version).await.unwrap() }
    };
    assert_eq!(take(&alice, "up-1", "v1").await, GrantTaken::Fresh);
    assert_eq!(take(&alice, "up-1", "v1").await, GrantTaken::SameUpload);
    assert_eq!(take(&alice, "up-1", "v2").await, GrantTaken::OtherUpload);
    // Grants are per user and per upload id.
    store.put_grant(&alice, "up-2", later).await.unwrap();
    assert_eq!(take(&bob, "up-2", "v1").await, GrantTaken::Missing);
    assert_eq!(take(&alice, "never", "v1").await, GrantTaken::Missing);
    // Within the grace after the URL expired: still taken (the PUT was in time, its
    // event late). Past it: refused.
    store
        .put_grant(&alice, "late", now - Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(take(&alice, "late", "v1").await, GrantTaken::Fresh);
    store
        .put_grant(
            &alice,
            "old",
            now - UPLOAD_GRANT_GRACE - Duration::seconds(5),
        )
        .await
        .unwrap();
    assert_eq!(take(&alice, "old", "v1").await, GrantTaken::Missing);
    // Ids that are not plain names are errors, never paths.
    for bad in ["../x", "a/b", "", "a.b"] {
        assert!(store.put_grant(&alice, bad, later).await.is_err(), "{bad}");
    }

    // Grants and faces in one store: listings see the faces only.
    store
        .put_template(&template(alice.as_str(), 1, now_ms()))
        .await
        .unwrap();
    assert_eq!(store.user_templates(&alice).await.unwrap().len(), 1);
    let mine: Vec<_> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.user_id == alice)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].faces, 1);
    let all = store.all_templates().await.unwrap();
    assert_eq!(all.iter().filter(|t| t.user_id == alice).count(), 1);

    // Revocation: every grant of the user (taken ones too), nobody else's; faces stay
    // (they are deleted separately).
    store.put_grant(&bob, "b-1", later).await.unwrap();
    assert_eq!(store.revoke_user_grants(&alice).await.unwrap(), 4);
    assert_eq!(store.revoke_user_grants(&alice).await.unwrap(), 0);
    for id in ["up-1", "up-2", "late", "old"] {
        assert_eq!(take(&alice, id, "v1").await, GrantTaken::Missing, "{id}");
    }
    assert_eq!(store.user_templates(&alice).await.unwrap().len(), 1);
    assert_eq!(store.delete_user(&alice).await.unwrap(), 1);
    assert_eq!(take(&bob, "b-1", "v1").await, GrantTaken::Fresh);

    // Exactly one of many concurrent takers wins, each with its own version.
    store.put_grant(&bob, "raced", later).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let bob = bob.clone();
            tokio::spawn(async move {
                store
                    .take_grant(&bob, "raced", &format!("v{i}"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        match t.await.unwrap() {
            GrantTaken::Fresh => fresh += 1,
            GrantTaken::OtherUpload => {}
            other => panic!("a raced take said {other:?}"),
        }
    }
    assert_eq!(fresh, 1, "exactly one concurrent take wins");
}

/// Put/get/delete-by-prefix with S3 prefix semantics; keys that could escape rejected.
pub async fn images(store: &dyn ImageStore) {
    let u = unique("u");
    let keys = [
        format!("enroll/{u}/a.jpg"),
        format!("enroll/{u}/b.jpg"),
        format!("enroll/{u}x/c.jpg"),
        format!("other/{u}/d.jpg"),
    ];
    for (i, k) in keys.iter().enumerate() {
        store
            .put_image(k, vec![i as u8; 100 + i], "image/jpeg")
            .await
            .unwrap();
    }
    assert_eq!(
        store.get_image(&keys[1]).await.unwrap(),
        Some(vec![1u8; 101])
    );
    // Overwrite replaces.
    store
        .put_image(&keys[1], b"new".to_vec(), "image/jpeg")
        .await
        .unwrap();
    assert_eq!(
        store.get_image(&keys[1]).await.unwrap(),
        Some(b"new".to_vec())
    );
    // One object deleted, its neighbours kept; a missing one is no error.
    let single = format!("enroll/{u}/single.jpg");
    store
        .put_image(&single, b"x".to_vec(), "image/jpeg")
        .await
        .unwrap();
    store.delete_image(&single).await.unwrap();
    store.delete_image(&single).await.unwrap();
    assert_eq!(store.get_image(&single).await.unwrap(), None);
    assert!(store.get_image(&keys[0]).await.unwrap().is_some());
    assert!(store.delete_image("../escape.jpg").await.is_err());
    assert_eq!(
        store
            .get_image(&format!("enroll/{u}/missing.jpg"))
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        store.delete_prefix(&format!("enroll/{u}/")).await.unwrap(),
        2
    );
    assert_eq!(store.get_image(&keys[0]).await.unwrap(), None);
    assert_eq!(store.get_image(&keys[1]).await.unwrap(), None);
    assert!(
        store.get_image(&keys[2]).await.unwrap().is_some(),
        "a sibling prefix survives"
    );
    assert!(store.get_image(&keys[3]).await.unwrap().is_some());
    assert_eq!(
        store.delete_prefix(&format!("enroll/{u}/")).await.unwrap(),
        0
    );
    // A partial last segment is a string prefix, as in S3.
    assert_eq!(
        store.delete_prefix(&format!("enroll/{u}")).await.unwrap(),
        1
    );
    assert_eq!(store.get_image(&keys[2]).await.unwrap(), None);

    for bad in ["../escape.jpg", "enroll/../../x", "/abs.jpg", "a//b", ""] {
        assert!(
            store.put_image(bad, vec![1], "image/jpeg").await.is_err(),
            "{bad:?}"
        );
        assert!(store.get_image(bad).await.is_err(), "{bad:?}");
    }
    assert!(
        store.delete_prefix("").await.is_err(),
        "an empty prefix would delete everything"
    );
    assert!(store.delete_prefix("../").await.is_err());
}

/// The events of `users` only (other tests may share the log).
async fn mine(log: &dyn AuditLog, q: AuditQuery, users: &[&str]) -> Vec<AuditEvent> {
    log.query(&q)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.user_id.as_deref().is_some_and(|u| users.contains(&u)))
        .collect()
}

/// Idempotent append; filters, newest first, `before` paging, exact round trip.
pub async fn audit(log: &dyn AuditLog) {
    let alice = unique("alice");
    let bob = unique("bob");
    let t0 = now_ms();
    let events: Vec<AuditEvent> = (0..6)
        .map(|i| {
            let user = if i % 2 == 0 { &alice } else { &bob };
            let outcome = if i % 3 == 0 { "rejected" } else { "success" };
            let kind = if i == 5 { "enroll" } else { "authenticate" };
            event(kind, Some(user), outcome, t0 - Duration::seconds(10 - i))
        })
        .collect();
    for e in &events {
        log.append(e).await.unwrap();
    }
    // Redelivery of the same event id is a no-op.
    log.append(&events[2]).await.unwrap();
    let mut sparse = AuditEvent::new("challenge", "success");
    sparse.at = t0 - Duration::seconds(20);
    log.append(&sparse).await.unwrap();

    let all = mine(
        log,
        AuditQuery {
            limit: 500,
            ..Default::default()
        },
        &[&alice, &bob],
    )
    .await;
    let newest_first: Vec<AuditEvent> = events.iter().rev().cloned().collect();
    assert_eq!(
        all, newest_first,
        "exact round trip, newest first, no duplicate"
    );

    let q = |user: Option<&str>, outcome: Option<&str>, event: Option<&str>| AuditQuery {
        user_id: user.map(str::to_owned),
        outcome: outcome.map(str::to_owned),
        event: event.map(str::to_owned),
        before: None,
        limit: 50,
    };
    let got = log.query(&q(Some(&alice), None, None)).await.unwrap();
    let want: Vec<_> = newest_first
        .iter()
        .filter(|e| e.user_id.as_deref() == Some(&alice))
        .cloned()
        .collect();
    assert_eq!(got, want);
    let got = mine(log, q(None, Some("rejected"), None), &[&alice, &bob]).await;
    assert_eq!(got, vec![events[3].clone(), events[0].clone()]);
    let got = log
        .query(&q(Some(&bob), None, Some("enroll")))
        .await
        .unwrap();
    assert_eq!(got, vec![events[5].clone()]);
    let got = log.query(&q(None, None, Some("challenge"))).await.unwrap();
    assert!(
        got.contains(&sparse),
        "events without optional fields round-trip"
    );

    // Paging: limit 2, then `before` = the last `at` of the previous page.
    let mut page_q = q(Some(&alice), None, None);
    page_q.limit = 2;
    let p1 = log.query(&page_q).await.unwrap();
    assert_eq!(p1, want[..2].to_vec());
    page_q.before = Some(p1[1].at);
    let p2 = log.query(&page_q).await.unwrap();
    assert_eq!(p2, want[2..].to_vec());
}

/// Session versions start at 0, bump by one (also under concurrency), are per user, and
/// survive the user's deletion (otherwise a re-created user would revive old tokens).
pub async fn sessions<S: SessionStore + TemplateStore + 'static>(store: Arc<S>) {
    let alice = uid(&unique("alice"));
    let bob = uid(&unique("bob"));
    assert_eq!(store.session_version(&alice).await.unwrap(), 0);
    assert_eq!(store.bump_session_version(&alice).await.unwrap(), 1);
    assert_eq!(store.bump_session_version(&alice).await.unwrap(), 2);
    assert_eq!(store.session_version(&alice).await.unwrap(), 2);
    assert_eq!(store.session_version(&bob).await.unwrap(), 0);

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, alice) = (store.clone(), alice.clone());
            tokio::spawn(async move { store.bump_session_version(&alice).await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (3..=10).collect::<Vec<u64>>(), "no bump may be lost");

    // The session item lives beside the faces but is not one of them.
    store
        .put_template(&template(alice.as_str(), 1, OffsetDateTime::now_utc()))
        .await
        .unwrap();
    assert_eq!(store.user_templates(&alice).await.unwrap().len(), 1);
    let listed = store.list_users().await.unwrap();
    let mine: Vec<_> = listed.iter().filter(|u| u.user_id == alice).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].faces, 1);
    let all = store.all_templates().await.unwrap();
    assert_eq!(all.iter().filter(|t| t.user_id == alice).count(), 1);
    assert_eq!(store.delete_user(&alice).await.unwrap(), 1);
    assert_eq!(store.session_version(&alice).await.unwrap(), 10);
}

/// Seen frames: claims are all or none, per user, honour expiry, and exactly one of
/// several racing claims of the same frame wins; forgetting is per user and leaves the
/// faces alone.
pub async fn seen_frames<S: SeenFrames + TemplateStore + 'static>(store: Arc<S>, race: Puts) {
    let later = OffsetDateTime::now_utc() + Duration::days(1);
    let alice = uid(&unique("alice"));
    let bob = uid(&unique("bob"));
    let [a, b, c, e, x] = [1u8, 2, 3, 4, 5].map(|i| FrameDigest([i; 16]));
    assert!(store.claim_frames(&alice, &[a, b], later).await.unwrap());
    assert!(
        !store.claim_frames(&alice, &[c, a], later).await.unwrap(),
        "a frame seen before refuses the claim"
    );
    assert!(
        store.claim_frames(&alice, &[c], later).await.unwrap(),
        "a refused claim records none of its frames"
    );
    assert!(
        store.claim_frames(&bob, &[a], later).await.unwrap(),
        "frames are per user"
    );
    assert!(store.claim_frames(&alice, &[], later).await.unwrap());
    let past = OffsetDateTime::now_utc() - Duration::seconds(1);
    assert!(store.claim_frames(&alice, &[e], past).await.unwrap());
    assert!(
        store.claim_frames(&alice, &[e], later).await.unwrap(),
        "an expired frame is forgotten"
    );
    assert!(!store.claim_frames(&alice, &[e], later).await.unwrap());

    let claims: Vec<_> = (0..8)
        .map(|_| {
            let (store, alice) = (Arc::clone(&store), alice.clone());
            async move { store.claim_frames(&alice, &[x], later).await.unwrap() }
        })
        .collect();
    let won = match race {
        Puts::Concurrent => {
            let tasks: Vec<_> = claims.into_iter().map(tokio::spawn).collect();
            let mut won = 0;
            for t in tasks {
                won += usize::from(t.await.unwrap());
            }
            won
        }
        Puts::Sequential => {
            let mut won = 0;
            for c in claims {
                won += usize::from(c.await);
            }
            won
        }
    };
    assert_eq!(won, 1, "exactly one claim of a frame wins");

    // Seen frames share the user's records with the faces: listings see the faces only,
    // forgetting leaves them.
    store
        .put_template(&template(alice.as_str(), 1, now_ms()))
        .await
        .unwrap();
    assert_eq!(store.user_templates(&alice).await.unwrap().len(), 1);
    let mine = store.list_users().await.unwrap();
    assert_eq!(mine.iter().find(|u| u.user_id == alice).unwrap().faces, 1);
    assert_eq!(store.forget_frames(&alice).await.unwrap(), 5);
    assert!(store
        .claim_frames(&alice, &[a, b, c, e, x], later)
        .await
        .unwrap());
    assert!(!store.claim_frames(&bob, &[a], later).await.unwrap());
    assert_eq!(store.user_templates(&alice).await.unwrap().len(), 1);
}
