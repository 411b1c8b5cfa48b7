//! Reader for dlib's binary serialization format (see `../shared/docs/dlib-models.md`).
