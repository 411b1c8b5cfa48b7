//! The faces the soak uses: a few real people from the committed fixtures, each reused
//! under many user ids. Their descriptors are far apart (smallest cross-person distance
//! in the reference outputs 0.75, largest same-person distance 0.43, threshold 0.6), so a
//! 1:1 login's expected outcome is never in doubt.

use crate::workload::b64;
use anyhow::{Context, Result};
use std::path::Path;

/// (name, enrollment photos, login frame), paths relative to tests/fixtures/images.
const PEOPLE: [(&str, &[&str], &str); 3] = [
    (
        "obama",
        &[
            "face_recognition/obama.jpg",
            "face_recognition/obama2.jpg",
            "face_recognition/obama-480p.jpg",
        ],
        "face_recognition/obama-640x480.jpg",
    ),
    (
        "biden",
        &["face_recognition/biden.jpg"],
        "face_recognition/biden.jpg",
    ),
    (
        "tom",
        &["dlib/Tom_Cruise_avp_2014_4.jpg"],
        "dlib/Tom_Cruise_avp_2014_4.jpg",
    ),
];

/// A photo without a face: its enrollment is refused (422) but still audited.
const NO_FACE: &str = "pypi/horse.png";

/// One person's photos, base64-encoded once.
#[derive(Debug)]
pub struct Person {
    pub name: &'static str,
    pub enroll: Vec<String>,
    pub login: String,
}

#[derive(Debug)]
pub struct Fixtures {
    pub people: Vec<Person>,
    pub no_face: String,
}

impl Fixtures {
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |rel: &str| {
            let p = dir.join(rel);
            std::fs::read(&p)
                .map(|b| b64(&b))
                .with_context(|| format!("{} (give --images tests/fixtures/images)", p.display()))
        };
        let people = PEOPLE
            .iter()
            .map(|(name, enroll, login)| {
                Ok(Person {
                    name,
                    enroll: enroll.iter().map(|r| read(r)).collect::<Result<_>>()?,
                    login: read(login)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            people,
            no_face: read(NO_FACE)?,
        })
    }
}
