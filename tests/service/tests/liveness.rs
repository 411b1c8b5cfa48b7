//! Challenge–response liveness and the security rules, through the local server with the
//! real pipeline. Genuine sequences are 2.5-D head turns and nods synthesized from one
//! frontal public-domain photo (faceid-testkit); attacks are the same photo repeated or
//! warped like a sheet of paper turned in front of the camera.
//!
//! The server holds an answer to the page's capture plan (not sooner than its frames take
//! after the challenge was issued): these tests move the server's challenge clock forward
//! by that time instead of waiting for it.

use faceid_core::screen_light::Light;
use faceid_service_tests::{b64, fixture, framed_face, LocalServer, ADMIN_TOKEN};
use faceid_testkit::{Camera, HeadModel, HeadPose, Landmarks5, ScreenLight, SheetWarp};
use image::RgbImage;
use serde_json::{json, Value};

/// A framed photo of one person plus its head and sheet models.
struct Subject {
    photo: RgbImage,
    landmarks: Landmarks5,
    head: HeadModel,
    sheet: SheetWarp,
}

impl Subject {
    fn new(image: &str, reference: &str) -> Self {
        let (photo, lm) = framed_face(image, reference);
        let head = HeadModel::new(&lm, Default::default()).unwrap();
        let sheet = SheetWarp::around_face(&lm, 640.0);
        Self {
            photo,
            landmarks: lm,
            head,
            sheet,
        }
    }
    /// The page's frames for a challenge: the light phase's still frames, then the head
    /// in each pose (yaw, pitch in degrees; yaw + = the person's own left, pitch + =
    /// looking up), frame `i` lit by the screen colour the challenge asked for it.
    fn turning(&self, poses: &[(f64, f64)], asked: &Asked) -> Vec<Vec<u8>> {
        self.turning_under(&asked.with_phase(poses), &asked.lights)
    }
    fn turning_under(&self, poses: &[(f64, f64)], lights: &[Light]) -> Vec<Vec<u8>> {
        self.turning_lit(poses, lights, ScreenLight::default())
    }
    /// Every call is a new capture: a webcam's sensor noise makes its frames differ from
    /// any earlier login's (which the seen-frames guard relies on).
    fn turning_lit(
        &self,
        poses: &[(f64, f64)],
        lights: &[Light],
        light: ScreenLight,
    ) -> Vec<Vec<u8>> {
        static CAPTURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let camera = Camera {
            gain_jitter: 0.0,
            noise: 2.0,
        };
        poses
            .iter()
            .zip(lights)
            .map(|(&(yaw_deg, pitch_deg), l)| {
                let pose = HeadPose { yaw_deg, pitch_deg };
                let frame = self.head.render_pose(&self.photo, pose);
                let face = self.head.project_landmarks_pose(&self.landmarks, pose);
                let seed = CAPTURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                jpeg(&camera.expose(&light.apply(&frame, &face, l.rgb()), seed))
            })
            .collect()
    }
    /// Frames with no screen light on them (the light check off), a new capture each call.
    fn turning_unlit(&self, poses: &[(f64, f64)]) -> Vec<Vec<u8>> {
        let dark = ScreenLight {
            strength: 0.0,
            ..ScreenLight::default()
        };
        self.turning_lit(poses, &vec![Light::Red; poses.len()], dark)
    }
    /// The photo as a flat sheet turned by each yaw (tilting it does not nod it: a nod is
    /// faked by the turn frames' failing anyway), held near the screen (so lit), still
    /// through the light phase.
    fn sheet(&self, poses: &[(f64, f64)], asked: &Asked) -> Vec<Vec<u8>> {
        asked
            .with_phase(poses)
            .iter()
            .map(|(y, _)| *y)
            .zip(&asked.lights)
            .map(|(y, l)| {
                let frame = self.sheet.render(&self.photo, y);
                let face = self.sheet.project_landmarks(&self.landmarks, y);
                jpeg(&ScreenLight::default().apply(&frame, &face, l.rgb()))
            })
            .collect()
    }
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out.into_inner()
}

const S: (f64, f64) = (0.0, 0.0);
/// Turned left, right (yaw: where dlib's landmarks register the render clearly) and
/// nodding up (15–17°: further, the rendered face's descriptor drifts past the same-person
/// bound): two frames each, as the page takes them.
const L: [(f64, f64); 2] = [(20.0, 0.0), (36.0, 0.0)];
const R: [(f64, f64); 2] = [(-20.0, 0.0), (-30.0, 0.0)];
const U: [(f64, f64); 2] = [(0.0, 15.0), (0.0, 17.0)];
/// Frames for ["left", "up", "right"] and the same moves in another order.
const LEFT_UP_RIGHT: [(f64, f64); 10] = [S, L[0], L[1], S, U[0], U[1], S, R[0], R[1], S];
const RIGHT_UP_LEFT: [(f64, f64); 10] = [S, R[0], R[1], S, U[0], U[1], S, L[0], L[1], S];
const LUR: [&str; 3] = ["left", "up", "right"];
/// These tests ask for nods (off by default).
const NODS: (&str, &str) = ("FACEID_CHALLENGE_NODS", "true");

/// A challenge as the page receives it.
struct Asked {
    id: String,
    steps: usize,
    lights: Vec<Light>,
    /// Still frames of the light phase, sent first.
    phase: usize,
}

impl Asked {
    /// The light phase's poses (straight ahead), then `poses`.
    fn with_phase(&self, poses: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let mut all = vec![S; self.phase];
        all.extend_from_slice(poses);
        all
    }
}

/// A challenge whose steps are exactly `steps` (one of 72 sequences with nods, 2 without,
/// drawn at random: ask until it comes).
async fn challenge(s: &LocalServer, steps: &[&str]) -> Asked {
    for _ in 0..2000 {
        let c: Value = s
            .post("/v1/challenge")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if c["steps"] == json!(steps) {
            let lights = c["lights"].as_array().expect("lights");
            return Asked {
                id: c["challenge_id"].as_str().unwrap().to_owned(),
                steps: steps.len(),
                lights: lights
                    .iter()
                    .map(|l| Light::parse(l.as_str().unwrap()).expect("a known colour"))
                    .collect(),
                phase: c["light_phase_frames"]
                    .as_u64()
                    .expect("light_phase_frames") as usize,
            };
        }
    }
    panic!("no challenge with steps {steps:?}");
}

/// Answers the challenge as the page would: once its frames have been taken (the server's
/// challenge clock moved forward by the capture plan's span).
async fn login(
    s: &LocalServer,
    asked: &Asked,
    user: Option<&str>,
    frames: &[Vec<u8>],
) -> (u16, Value) {
    s.state
        .clock
        .advance(s.state.config.capture_plan(asked.steps).capture_span());
    send(s, asked, user, frames).await
}

/// Answers the challenge now, whatever the challenge clock says.
async fn send(
    s: &LocalServer,
    asked: &Asked,
    user: Option<&str>,
    frames: &[Vec<u8>],
) -> (u16, Value) {
    let mut body = json!({"challenge_id": asked.id, "frames": frames.iter().map(|f| b64(f)).collect::<Vec<_>>()});
    if let Some(u) = user {
        body["user_id"] = json!(u);
    }
    let r = s.post("/v1/authenticate").json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn enrolled_server() -> LocalServer {
    let s = LocalServer::start(&[NODS]).await;
    let (st, b) = s
        .enroll(
            "obama",
            &[
                fixture("face_recognition/obama.jpg"),
                fixture("face_recognition/obama2.jpg"),
            ],
        )
        .await;
    assert_eq!(st, 201, "{b}");
    let (st, b) = s
        .enroll("tom", &[fixture("dlib/Tom_Cruise_avp_2014_4.jpg")])
        .await;
    assert_eq!(st, 201, "{b}");
    s
}

#[tokio::test]
async fn genuine_head_turns_pass_and_every_attack_fails_with_its_reason() {
    let s = enrolled_server().await;
    let obama = Subject::new("face_recognition/obama.jpg", "obama.json");
    let tom = Subject::new(
        "dlib/Tom_Cruise_avp_2014_4.jpg",
        "Tom_Cruise_avp_2014_4.json",
    );

    // Genuine: the asked turns in the asked order, lit by the asked colours.
    let c = challenge(&s, &LUR).await;
    let accepted = obama.turning(&LEFT_UP_RIGHT, &c);
    let (st, body) = login(&s, &c, Some("obama"), &accepted).await;
    assert_eq!(st, 200, "{body}");
    // Pass/fail only: no liveness or distance figures reach the client.
    assert!(
        body.get("liveness").is_none() && body.get("distance").is_none(),
        "{body}"
    );
    let c = challenge(&s, &["right", "up", "left"]).await;
    let (st, body) = login(&s, &c, None, &obama.turning(&RIGHT_UP_LEFT, &c)).await;
    assert_eq!(
        (st, body["user_id"].clone()),
        (200, json!("obama")),
        "{body}"
    );

    // Reused challenge.
    assert_refused(
        &login(&s, &c, None, &obama.turning(&RIGHT_UP_LEFT, &c)).await,
        "challenge_used",
        "",
    );

    let reason = |v: &Value| v["reason"].as_str().unwrap_or_default().to_owned();
    // A still photo, repeated.
    let c = challenge(&s, &LUR).await;
    let (st, body) = login(&s, &c, Some("obama"), &obama.turning(&[S; 10], &c)).await;
    // The screen's changing light moves its landmarks by a pixel or so, which is motion
    // but no turn.
    assert!(
        st == 401
            && ["liveness_no_motion", "liveness_no_head_turn"].contains(&reason(&body).as_str()),
        "{body}"
    );
    // The same photo warped in perspective to imitate turning left and right.
    let c = challenge(&s, &LUR).await;
    // Refused either way: the nose stays between the eyes, or (if perspective nudges it
    // past the turn threshold) the eyes do not foreshorten as a head's do, or the face
    // moves as one plane.
    let (st, body) = login(&s, &c, Some("obama"), &obama.sheet(&LEFT_UP_RIGHT, &c)).await;
    assert!(
        st == 401
            && [
                "liveness_no_head_turn",
                "liveness_flat_face",
                "liveness_no_parallax"
            ]
            .contains(&reason(&body).as_str()),
        "{body}"
    );
    // The right turns in the wrong order.
    let c = challenge(&s, &LUR).await;
    assert_refused(
        &login(&s, &c, Some("obama"), &obama.turning(&RIGHT_UP_LEFT, &c)).await,
        "liveness_wrong_turn_order",
        "",
    );
    // Five failures from one address lock it out (tested below); start a fresh window.
    reset_lockout(&s).await;
    // Frames mixing two people: in the turns, or one in the light phase and the other
    // turning (a live accomplice lit by the page, a recording of the victim's turns).
    let c = challenge(&s, &LUR).await;
    let poses = c.with_phase(&LEFT_UP_RIGHT);
    let k = c.phase + 4;
    let mut mixed = obama.turning_under(&poses[..k], &c.lights[..k]);
    mixed.extend(tom.turning_under(&poses[k..], &c.lights[k..]));
    assert_refused(
        &login(&s, &c, None, &mixed).await,
        "liveness_different_people",
        "in the turns",
    );
    let c = challenge(&s, &LUR).await;
    let poses = c.with_phase(&LEFT_UP_RIGHT);
    let mut mixed = tom.turning_under(&poses[..c.phase], &c.lights[..c.phase]);
    mixed.extend(obama.turning_under(&poses[c.phase..], &c.lights[c.phase..]));
    assert_refused(
        &login(&s, &c, Some("obama"), &mixed).await,
        "liveness_different_people",
        "another person in the light phase",
    );
    reset_lockout(&s).await;
    // The light phase left out (the turn frames alone, lit by their colours): its first
    // frames are then judged as the phase and the turns come up short.
    let c = challenge(&s, &LUR).await;
    let turns_only = obama.turning_under(&LEFT_UP_RIGHT, &c.lights[c.phase..]);
    let (st, body) = login(&s, &c, Some("obama"), &turns_only).await;
    assert!(
        st == 401 && reason(&body).starts_with("liveness_"),
        "{body}"
    );
    // The accepted login's light phase (lit by its challenge's colours) before turns lit
    // by this one's: the phase does not follow this challenge.
    let c = challenge(&s, &LUR).await;
    let mut stale_phase = accepted[..c.phase].to_vec();
    stale_phase.extend(obama.turning_under(&LEFT_UP_RIGHT, &c.lights[c.phase..]));
    assert_refused(
        &login(&s, &c, Some("obama"), &stale_phase).await,
        "liveness_light_mismatch",
        "an earlier login's light phase",
    );
    // The person's picture held up to the screen through the countdown (lit by this
    // challenge's colours as a face is), then a video made before the challenge for the
    // turns: the turns show no light of their own.
    let c = challenge(&s, &LUR).await;
    let poses = c.with_phase(&LEFT_UP_RIGHT);
    let mut picture_then_video = obama.turning_under(&poses[..c.phase], &c.lights[..c.phase]);
    picture_then_video.extend(obama.turning_unlit(&LEFT_UP_RIGHT));
    let (st, body) = login(&s, &c, Some("obama"), &picture_then_video).await;
    assert!(
        st == 401
            && ["liveness_light_mismatch", "liveness_light_missing_in_turns"]
                .contains(&reason(&body).as_str()),
        "a picture in the countdown, then a video: {body}"
    );
    reset_lockout(&s).await;
    // Replay: the accepted login's frames, sent again to a new challenge with the same
    // turns (re-requested until it had them). Its colours were another challenge's.
    let c = challenge(&s, &LUR).await;
    assert_refused(
        &login(&s, &c, Some("obama"), &accepted).await,
        "liveness_light_mismatch",
        "",
    );
    // A video made before the challenge existed (no screen light on it: a recording, or
    // the testkit's one-photo animation); and a video shown on a screen held to the
    // camera, where the page's light falls on the whole replay screen alike.
    let unlit = ScreenLight {
        strength: 0.0,
        ..ScreenLight::default()
    };
    let on_a_screen = ScreenLight {
        background: 1.0,
        ..ScreenLight::default()
    };
    for (attack, light) in [("unlit video", unlit), ("video on a screen", on_a_screen)] {
        let c = challenge(&s, &LUR).await;
        let video = obama.turning_lit(&c.with_phase(&LEFT_UP_RIGHT), &c.lights, light);
        assert_refused(
            &login(&s, &c, Some("obama"), &video).await,
            "liveness_light_mismatch",
            attack,
        );
    }
    // An unknown challenge.
    let unknown = Asked {
        id: "7b0e0b7e-9c56-4d5e-8a8e-2f3a5e2d7c11".into(),
        steps: 3,
        lights: c.lights.clone(),
        phase: c.phase,
    };
    assert_refused(
        &login(&s, &unknown, None, &obama.turning(&LEFT_UP_RIGHT, &c)).await,
        "challenge_unknown",
        "",
    );
}

/// With the screen-light check off (e.g. an IR kiosk), nothing ties frames to their
/// challenge: the attacker who captured an accepted login's request sends its frames to a
/// fresh challenge with the same turns (re-requested until it has them). Refused as sent,
/// with its bytes changed but not its pixels, and spliced among new frames; a new capture
/// of the same person still logs in, and deleting the user forgets the frames.
#[tokio::test]
async fn with_the_screen_light_off_a_captured_login_is_not_accepted_twice() {
    let s = LocalServer::start(&[NODS, ("FACEID_SCREEN_LIGHT", "false")]).await;
    let (st, b) = s
        .enroll("obama", &[fixture("face_recognition/obama.jpg")])
        .await;
    assert_eq!(st, 201, "{b}");
    let obama = Subject::new("face_recognition/obama.jpg", "obama.json");

    let captured = obama.turning_unlit(&LEFT_UP_RIGHT);
    let c = challenge(&s, &LUR).await;
    assert!(c.lights.is_empty(), "the light check is off");
    let (st, body) = login(&s, &c, Some("obama"), &captured).await;
    assert_eq!(st, 200, "{body}");

    // The same JPEG with a comment segment after its start marker: other bytes, the same
    // pixels (what defeats a digest of the request bytes).
    let commented: Vec<Vec<u8>> = captured
        .iter()
        .map(|f| {
            let mut out = f[..2].to_vec();
            out.extend_from_slice(b"\xFF\xFE\x00\x08replay");
            out.extend_from_slice(&f[2..]);
            out
        })
        .collect();
    // Sent again, 1:1 and 1:N; with a comment added; and only two turned frames of the
    // capture among new ones.
    let mut spliced = obama.turning_unlit(&LEFT_UP_RIGHT);
    spliced[1..3].clone_from_slice(&captured[1..3]);
    for (attack, frames, user) in [
        ("as captured, 1:1", &captured, Some("obama")),
        ("as captured, 1:N", &captured, None),
        ("with a JPEG comment added", &commented, Some("obama")),
        (
            "two captured frames among new ones",
            &spliced,
            Some("obama"),
        ),
    ] {
        let c = challenge(&s, &LUR).await;
        assert_refused(
            &login(&s, &c, user, frames).await,
            "liveness_frames_seen",
            attack,
        );
        reset_lockout(&s).await;
    }

    // A new capture of the same head turn logs in.
    let c = challenge(&s, &LUR).await;
    let (st, body) = login(&s, &c, Some("obama"), &obama.turning_unlit(&LEFT_UP_RIGHT)).await;
    assert_eq!(st, 200, "{body}");

    // Deleting the user forgets their frames (they are derived from the face).
    assert_eq!(s.delete_user("obama").await, 200);
    let seen = std::fs::read_dir(s.data.path().join("seen")).unwrap();
    assert!(
        seen.filter_map(|e| e.ok())
            .all(|e| e.file_name().to_string_lossy().starts_with('.')),
        "no seen-frame record is left"
    );
}

/// Asserts that an answer was refused (401) with `reason`.
#[track_caller]
fn assert_refused((status, body): &(u16, Value), reason: &str, context: &str) {
    assert_eq!(
        (*status, body["reason"].as_str()),
        (401, Some(reason)),
        "{context}: {body}"
    );
}

/// Forgets the failure counters this test's client built up (as the window passing would).
async fn reset_lockout(s: &LocalServer) {
    for key in ["addr#127.0.0.1", "user#obama"] {
        s.state.stores.counters.delete_counter(key).await.unwrap();
    }
}

/// An answer is held to the page's capture plan, measured on the server's own clock from
/// the challenge's issue to the request's receipt: not sooner than the plan's frames take
/// (minus 1 s), not later than the whole plan plus 15 s, and never after the challenge's
/// 60 s. Each refusal consumes the challenge and, as no face work was done, refunds the
/// user's lockout charge (the address keeps its charge, as for any refused request). The
/// clock is moved, not waited for.
#[tokio::test]
async fn answers_are_held_to_the_capture_plan() {
    let s = LocalServer::start(&[NODS]).await;
    let (st, _) = s
        .enroll("obama", &[fixture("face_recognition/obama.jpg")])
        .await;
    assert_eq!(st, 201);
    let reason = |v: &Value| v["reason"].as_str().unwrap_or_default().to_owned();
    // Any frames: the timing is judged before them (the light phase's 9, then 10).
    let frames = vec![fixture("face_recognition/obama.jpg"); 9 + 10];
    let window = s.state.config.answer_window.expect("on by default");
    let (earliest, latest) = window.bounds(&s.state.config.capture_plan(3));
    // 3 steps after the light phase: frames span 12.84 s, the plan 13.6 s.
    assert_eq!(earliest, time::Duration::milliseconds(11_840));
    assert_eq!(latest, time::Duration::milliseconds(28_600));

    // At once (frames made before, or without a camera): too fast, and the challenge is
    // spent; the user is not charged.
    let c = challenge(&s, &LUR).await;
    assert_refused(
        &send(&s, &c, Some("obama"), &frames).await,
        "liveness_too_fast",
        "",
    );
    s.state.clock.advance(earliest);
    assert_refused(
        &send(&s, &c, Some("obama"), &frames).await,
        "challenge_used",
        "",
    );
    let user = s
        .state
        .stores
        .counters
        .load_counter("user#obama")
        .await
        .unwrap();
    assert!(user.is_none_or(|(c, _)| c.count == 0), "{user:?}");
    reset_lockout(&s).await;

    // Half a second short of the earliest time a camera can take the frames.
    let c = challenge(&s, &LUR).await;
    s.state
        .clock
        .advance(earliest - time::Duration::milliseconds(500));
    assert_refused(
        &send(&s, &c, Some("obama"), &frames).await,
        "liveness_too_fast",
        "",
    );

    reset_lockout(&s).await;
    // Past the plan and its slack (time spent making frames for this challenge), and past
    // the challenge's life.
    let c = challenge(&s, &LUR).await;
    s.state.clock.advance(latest + time::Duration::seconds(1));
    assert_refused(
        &send(&s, &c, Some("obama"), &frames).await,
        "liveness_too_slow",
        "",
    );
    let c = challenge(&s, &LUR).await;
    s.state.clock.advance(time::Duration::seconds(61));
    assert_refused(
        &send(&s, &c, Some("obama"), &frames).await,
        "challenge_expired",
        "",
    );

    // Within the window, the frames are judged (a still photo: no head turn).
    let c = challenge(&s, &LUR).await;
    s.state.clock.advance(latest - time::Duration::seconds(2));
    let (st, body) = send(&s, &c, Some("obama"), &frames).await;
    assert_eq!(st, 401, "{body}");
    assert!(reason(&body).starts_with("liveness_no_"), "{body}");

    // A four-step challenge gets its own, longer window (16.04 s of frames, 16.8 s of plan).
    let (earliest4, latest4) = window.bounds(&s.state.config.capture_plan(4));
    assert!(earliest4 > earliest && latest4 > latest);
}

/// `FACEID_CHALLENGE_TIMING=false` (load tests that answer at once) takes any answer up
/// to the challenge's expiry.
#[tokio::test]
async fn the_answer_window_can_be_turned_off() {
    let s = LocalServer::start(&[NODS, ("FACEID_CHALLENGE_TIMING", "false")]).await;
    assert!(s.state.config.answer_window.is_none());
    let c = challenge(&s, &LUR).await;
    let frames = vec![fixture("face_recognition/obama.jpg"); c.phase + 10];
    let (st, body) = send(&s, &c, None, &frames).await;
    assert_eq!(st, 401, "{body}");
    assert!(
        !body["reason"].as_str().unwrap_or_default().contains("too_"),
        "{body}"
    );
}

#[tokio::test]
async fn only_the_admin_or_the_users_own_session_may_enroll() {
    let s = enrolled_server().await;
    let photo = json!({"images": [b64(&fixture("face_recognition/obama3.jpg"))]});
    let url = |u: &str| format!("{}/v1/users/{u}/faces", s.url);
    let r = s.http.post(url("obama")).json(&photo).send().await.unwrap();
    assert_eq!(r.status(), 401, "no token");
    let r = s
        .http
        .post(url("obama"))
        .bearer_auth("wrong-token-wrong-token")
        .json(&photo)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "wrong token");
    let r = s
        .http
        .post(url("obama"))
        .bearer_auth(format!("{ADMIN_TOKEN}x"))
        .json(&photo)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "admin token with a suffix");

    // A real session of tom: may add to tom, not to obama; may not list users.
    let tom = Subject::new(
        "dlib/Tom_Cruise_avp_2014_4.jpg",
        "Tom_Cruise_avp_2014_4.json",
    );
    let c = challenge(&s, &LUR).await;
    let (st, body) = login(&s, &c, Some("tom"), &tom.turning(&LEFT_UP_RIGHT, &c)).await;
    assert_eq!(st, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let r = s
        .http
        .post(url("obama"))
        .bearer_auth(&token)
        .json(&photo)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "another user's session");
    let r = s
        .http
        .delete(format!("{}/v1/users/obama", s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s.get("/v1/users").bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let own = json!({"images": [b64(&fixture("dlib/Tom_Cruise_avp_2014_4.jpg"))]});
    let r = s
        .http
        .post(url("tom"))
        .bearer_auth(&token)
        .json(&own)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "own session may enroll more photos");
}

#[tokio::test]
async fn sixth_failure_in_the_window_is_locked_out_until_the_cooldown_ends() {
    let s = enrolled_server().await;
    let tom = Subject::new(
        "dlib/Tom_Cruise_avp_2014_4.jpg",
        "Tom_Cruise_avp_2014_4.json",
    );
    for i in 0..5 {
        let c = challenge(&s, &LUR).await;
        assert_refused(
            &login(&s, &c, Some("obama"), &tom.turning(&LEFT_UP_RIGHT, &c)).await,
            "no_match",
            &format!("attempt {i}"),
        );
    }
    let c = challenge(&s, &LUR).await;
    let frames = tom.turning(&LEFT_UP_RIGHT, &c);
    let r = s
        .post("/v1/authenticate")
        .json(&json!({"challenge_id": c.id, "user_id": "obama", "frames": frames.iter().map(|f| b64(f)).collect::<Vec<_>>()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The first lock lasts the policy's 30 min.
    assert!((1..=1800).contains(&retry), "Retry-After {retry}");
    // The cool-down ends: move the stored counter's lock into the past, as time would.
    let counters = &s.state.stores.counters;
    for key in ["user#obama", "addr#127.0.0.1"] {
        let (mut c, v) = counters.load_counter(key).await.unwrap().expect("counter");
        c.locked_until = Some(time::OffsetDateTime::now_utc() - time::Duration::seconds(1));
        c.window_start -= time::Duration::minutes(10);
        assert!(counters
            .store_counter(
                key,
                &c,
                Some(v),
                time::OffsetDateTime::now_utc() + time::Duration::minutes(5)
            )
            .await
            .unwrap());
    }
    let obama = Subject::new("face_recognition/obama.jpg", "obama.json");
    let c = challenge(&s, &LUR).await;
    let (st, body) = login(&s, &c, Some("obama"), &obama.turning(&LEFT_UP_RIGHT, &c)).await;
    assert_eq!(st, 200, "after the cool-down: {body}");
}

/// By default a challenge asks for three turns, left–right–left or right–left–right;
/// with `FACEID_CHALLENGE_NODS=true`, a nod is always among the steps.
#[tokio::test]
async fn challenges_ask_for_nods_only_when_configured() {
    let steps_of = |c: &Value| -> Vec<String> {
        c["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|t| t.as_str().expect("a step").to_owned())
            .collect()
    };
    let turns = LocalServer::start(&[]).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        let c: Value = turns
            .post("/v1/challenge")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.insert(steps_of(&c).join(","));
    }
    let mut seen: Vec<String> = seen.into_iter().collect();
    seen.sort();
    assert_eq!(seen, ["left,right,left", "right,left,right"]);
    let nods = LocalServer::start(&[NODS]).await;
    for _ in 0..100 {
        let c: Value = nods
            .post("/v1/challenge")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let steps = steps_of(&c);
        assert!(steps.iter().any(|t| t == "up" || t == "down"), "{steps:?}");
    }
}

/// The shipped configuration (turns only, screen light on) against the attacker who
/// captured an accepted login and sends it to a fresh challenge with the same turns: its
/// colours were the old challenge's. With the light check off, the seen-frames guard
/// refuses it instead.
#[tokio::test]
async fn with_the_default_turns_a_replayed_login_is_refused() {
    const LRL: [&str; 3] = ["left", "right", "left"];
    const LEFT_RIGHT_LEFT: [(f64, f64); 10] = [S, L[0], L[1], S, R[0], R[1], S, L[0], L[1], S];
    let obama = Subject::new("face_recognition/obama.jpg", "obama.json");
    for (light_check, refused_as) in [
        (None, "liveness_light_mismatch"),
        (
            Some(("FACEID_SCREEN_LIGHT", "false")),
            "liveness_frames_seen",
        ),
    ] {
        let s = LocalServer::start(light_check.as_slice()).await;
        let (st, b) = s
            .enroll("obama", &[fixture("face_recognition/obama.jpg")])
            .await;
        assert_eq!(st, 201, "{b}");
        let c = challenge(&s, &LRL).await;
        let accepted = if light_check.is_none() {
            obama.turning(&LEFT_RIGHT_LEFT, &c)
        } else {
            obama.turning_unlit(&LEFT_RIGHT_LEFT)
        };
        let (st, body) = login(&s, &c, Some("obama"), &accepted).await;
        assert_eq!(st, 200, "{light_check:?}: {body}");
        for user in [Some("obama"), None] {
            let c = challenge(&s, &LRL).await;
            assert_refused(
                &login(&s, &c, user, &accepted).await,
                refused_as,
                &format!("{light_check:?}, {user:?}"),
            );
        }
    }
}
