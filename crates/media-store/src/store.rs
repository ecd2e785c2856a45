use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{MediaContent, MediaMetadata, Result, StorageReference, StorageStats};

/// A place to keep media outside conversation history.
///
/// Every call of [`MediaStore::store`] returns a new reference (and adds one to
/// the content's reference count); identical bytes are stored once.
/// [`MediaStore::delete`] drops one reference and removes the bytes with the last.
///
/// Applications usually hold a store as `Arc<dyn MediaStore>` (the backend is
/// chosen at run time) and pass `&dyn MediaStore` around; [`MediaStoreExt`]'s
/// conveniences work on both.
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt, Result,
///     StorageReference};
///
/// async fn save_note(store: &dyn MediaStore, text: &'static str) -> Result<StorageReference> {
///     let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
///     store.store_bytes("text/plain", text.into(), &meta).await
/// }
///
/// # let dir = tempfile::tempdir().unwrap();
/// let store: Arc<dyn MediaStore> = Arc::new(FileStore::builder().with_base_dir(dir.path()).build()?);
/// let r = save_note(store.as_ref(), "hello").await?;
/// assert_eq!(store.retrieve_bytes(&r).await?, "hello");
/// let stats = store.stats().await?;
/// assert_eq!((stats.objects, stats.references), (1, 1));
/// # Ok::<_, promptkit_media_store::Error>(())
/// # }).unwrap();
/// # }
/// ```
#[async_trait]
pub trait MediaStore: Send + Sync + std::fmt::Debug {
    /// Stores inline media and returns a new reference to it.
    async fn store(
        &self,
        content: &MediaContent,
        metadata: &MediaMetadata,
    ) -> Result<StorageReference>;

    /// Loads the media behind a reference (inline bytes, MIME type, size).
    async fn retrieve(&self, reference: &StorageReference) -> Result<MediaContent>;

    /// Drops one reference; the bytes go with the last reference.
    async fn delete(&self, reference: &StorageReference) -> Result<()>;

    /// A URL for the media: presigned on backends that sign, `file://` locally.
    async fn url(&self, reference: &StorageReference, expiry: Duration) -> Result<String>;

    /// Statistics computed from what the store holds.
    async fn stats(&self) -> Result<StorageStats>;
}

/// Conveniences over any [`MediaStore`].
///
/// ```
/// # #[cfg(feature = "local")] {
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use bytes::Bytes;
/// use promptkit_media_store::{FileStore, MediaMetadata, MediaStore, MediaStoreExt};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder().with_base_dir(dir.path()).build().unwrap();
/// let meta = MediaMetadata::new().with_session("s1").with_conversation("c1");
/// let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n-image-");
/// let r = store.store_bytes("image/png", png.clone(), &meta).await.unwrap();
/// assert_eq!(store.retrieve_bytes(&r).await.unwrap(), png);
/// store.delete(&r).await.unwrap();
/// assert!(store.retrieve_bytes(&r).await.is_err());
/// # });
/// # }
/// ```
#[async_trait]
pub trait MediaStoreExt: MediaStore {
    /// Stores raw bytes with a MIME type.
    async fn store_bytes(
        &self,
        mime_type: &str,
        data: Bytes,
        metadata: &MediaMetadata,
    ) -> Result<StorageReference> {
        self.store(&MediaContent::from_bytes(mime_type, data), metadata)
            .await
    }

    /// Loads only the bytes behind a reference.
    async fn retrieve_bytes(&self, reference: &StorageReference) -> Result<Bytes> {
        let m = self.retrieve(reference).await?;
        m.data.ok_or_else(|| crate::Error::NotFound {
            reference: reference.to_string(),
        })
    }
}

impl<S: MediaStore + ?Sized> MediaStoreExt for S {}

macro_rules! forward_store {
    ($ty:ty) => {
        #[async_trait]
        impl<S: MediaStore + ?Sized> MediaStore for $ty {
            async fn store(
                &self,
                content: &MediaContent,
                metadata: &MediaMetadata,
            ) -> Result<StorageReference> {
                (**self).store(content, metadata).await
            }
            async fn retrieve(&self, reference: &StorageReference) -> Result<MediaContent> {
                (**self).retrieve(reference).await
            }
            async fn delete(&self, reference: &StorageReference) -> Result<()> {
                (**self).delete(reference).await
            }
            async fn url(&self, reference: &StorageReference, expiry: Duration) -> Result<String> {
                (**self).url(reference, expiry).await
            }
            async fn stats(&self) -> Result<StorageStats> {
                (**self).stats().await
            }
        }
    };
}

forward_store!(Arc<S>);
forward_store!(Box<S>);
