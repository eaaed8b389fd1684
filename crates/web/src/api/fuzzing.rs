//! Entry points for the fuzz targets (`fuzz/`, bodies in `crates/fuzzing`): the parts of
//! request decoding that are otherwise private to the handlers. Not an API.

use super::FileUpload;
use crate::error::AppError;

/// A JSON body's attachments decoded as the handlers decode them (standard base64).
pub fn decode_files(files: Vec<FileUpload>) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    super::handlers::decode_files(files)
}
