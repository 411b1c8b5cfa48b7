//! Photos in an S3 bucket: private objects, SSE-S3 (`AES256`) on every put, presigned
//! PUT URLs for browser/script uploads.

use super::sdk_err;
use crate::keys::{validate_key, validate_prefix, MAX_IMAGE_BYTES};
use aws_config::SdkConfig;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use aws_sdk_s3::Client;
use faceid_core::ports::{ImageStore, PresignedPut, StoreError, StoreResult};

/// [`ImageStore`] on S3.
#[derive(Debug, Clone)]
pub struct S3ImageStore {
    client: Client,
    bucket: String,
}

fn other(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

impl S3ImageStore {
    /// A store on `bucket`. With an endpoint override (emulators) path-style addressing
    /// is forced, since `bucket.127.0.0.1` cannot resolve.
    pub fn new(config: &SdkConfig, bucket: impl Into<String>) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self::from_client(Client::from_conf(s3_config), bucket)
    }

    pub fn from_client(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the bucket unless it exists, with default encryption (AES256) and all
    /// public access blocked. For emulators and tests; production buckets come from
    /// the SAM template.
    pub async fn create_bucket_if_missing(&self) -> StoreResult<()> {
        let exists = self.client.head_bucket().bucket(&self.bucket).send().await;
        if exists.is_err() {
            let region = self
                .client
                .config()
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default();
            let mut req = self.client.create_bucket().bucket(&self.bucket);
            // us-east-1 is the one region that rejects an explicit location constraint.
            if !region.is_empty() && region != "us-east-1" {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region.as_str()))
                        .build(),
                );
            }
            match req.send().await {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error().is_some_and(|e| {
                        e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                    }) => {}
                Err(e) => return Err(sdk_err("CreateBucket", e)),
            }
        }
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .map_err(other)?,
            )
            .build();
        self.client
            .put_bucket_encryption()
            .bucket(&self.bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(other)?,
            )
            .send()
            .await
            .map_err(|e| sdk_err("PutBucketEncryption", e))?;
        self.client
            .put_public_access_block()
            .bucket(&self.bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_err("PutPublicAccessBlock", e))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ImageStore for S3ImageStore {
    async fn put_image(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        validate_key(key).map_err(other)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(|e| sdk_err("PutObject", e))?;
        Ok(())
    }

    async fn get_image(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        validate_key(key).map_err(other)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(sdk_err("GetObject", e)),
        };
        if out
            .content_length()
            .is_some_and(|n| u64::try_from(n).unwrap_or(0) > MAX_IMAGE_BYTES)
        {
            return Err(StoreError::Other(format!(
                "object {key} is larger than {MAX_IMAGE_BYTES} bytes"
            )));
        }
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("GetObject body: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn delete_image(&self, key: &str) -> StoreResult<()> {
        validate_key(key).map_err(other)?;
        // S3 answers 204 for a missing key too.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_err("DeleteObject", e))?;
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<usize> {
        // An empty or odd prefix could wipe the bucket: only key-shaped prefixes pass.
        validate_prefix(prefix).map_err(other)?;
        let mut deleted = 0;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_err("ListObjectsV2", e))?;
            let ids = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .map(|k| ObjectIdentifier::builder().key(k).build().map_err(other))
                .collect::<StoreResult<Vec<_>>>()?;
            // A listing page holds at most 1000 keys, DeleteObjects' limit.
            if !ids.is_empty() {
                let n = ids.len();
                let out = self
                    .client
                    .delete_objects()
                    .bucket(&self.bucket)
                    .delete(
                        Delete::builder()
                            .set_objects(Some(ids))
                            .quiet(true)
                            .build()
                            .map_err(other)?,
                    )
                    .send()
                    .await
                    .map_err(|e| sdk_err("DeleteObjects", e))?;
                if let Some(err) = out.errors().first() {
                    return Err(StoreError::Unavailable(format!(
                        "DeleteObjects: {} {}",
                        err.code().unwrap_or("error"),
                        err.message().unwrap_or_default()
                    )));
                }
                deleted += n;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(deleted),
            }
        }
    }

    async fn presign_put(&self, key: &str, ttl: std::time::Duration) -> StoreResult<PresignedPut> {
        validate_key(key).map_err(other)?;
        // No SSE header in the signature (the client would have to send it); the
        // bucket's default encryption covers presigned uploads. `If-None-Match: *` is
        // signed, so S3 refuses (412) a second PUT through the URL.
        let presigning = PresigningConfig::expires_in(ttl).map_err(other)?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("image/jpeg")
            .if_none_match("*")
            .presigned(presigning)
            .await
            .map_err(|e| sdk_err("PutObject presign", e))?;
        let headers = req
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        Ok(PresignedPut {
            url: req.uri().to_string(),
            headers,
        })
    }
}
