//! Storage adapters for the ports in `faceid-core`:
//!
//! - [`embedded`]: all five ports on local files under one data directory (the default;
//!   `faceid serve` on a laptop, most tests);
//! - [`aws`]: DynamoDB (templates, challenges, counters) and S3 (photos);
//! - [`mongo`]: the MongoDB audit log;
//! - [`spool`]: an audit-log decorator that spools to local disk when the log is down.

mod fsutil;

pub mod embedded;
pub mod keys;
pub mod spool;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "mongo")]
pub mod mongo;

pub use embedded::{
    EmbeddedConfig, EmbeddedStore, EmbeddedStores, FileAuditLog, LocalImageStore, DEFAULT_DATA_DIR,
};
pub use keys::{PresignError, UploadSigner, MAX_IMAGE_BYTES};
pub use spool::{FlushReport, FlusherHandle, SpoolConfig, SpooledAuditLog};

#[cfg(feature = "aws")]
pub use aws::{load_sdk_config, AwsSettings, DynamoStore, S3ImageStore};
#[cfg(feature = "mongo")]
pub use mongo::{MongoAuditConfig, MongoAuditLog};
