//! The one error type of the HTTP boundary: each variant maps to a status and a stable
//! code; the client reads a short message (zh-CN), the log keeps the details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hecha_shared::api::ErrorBody;
use hecha_shared::sync::ProtocolError;

use crate::ServerError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Unknown user or wrong password: one answer for both.
    #[error("bad credentials")]
    BadCredentials,
    /// No, malformed or unknown bearer token.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The device was revoked (with the reason IT gave, told to the device).
    #[error("device revoked")]
    DeviceRevoked(Option<String>),
    /// A one-time enrolment code that does not exist, expired or was used: one answer.
    #[error("bad enrolment code")]
    BadEnrolCode,
    /// The caller's role may not use this route.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The actor id a login presents is registered to another user's device.
    #[error("actor id already registered to another user")]
    ActorInUse,
    #[error("malformed sync body: {0}")]
    MalformedSync(String),
    #[error("unsupported sync protocol {found}")]
    UnsupportedProtocol { found: u16 },
    #[error("too many documents in one sync request: {count} (at most {max})")]
    TooManyDocs { count: usize, max: usize },
    #[error("unsupported content type {0:?}")]
    UnsupportedMediaType(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// A blob larger than the server keeps.
    #[error("blob of {size} bytes (at most {max})")]
    BlobTooLarge { size: u64, max: u64 },
    /// An uploaded blob whose bytes do not hash to its name (the upload is discarded).
    #[error("blob does not match its SHA-256")]
    HashMismatch,
    /// A chunk that does not start where the bytes held end.
    #[error("chunk offset does not match the {received} bytes held")]
    OffsetMismatch { received: u64 },
    #[error("no such route")]
    NotFound,
    /// A case that does not exist or is outside the caller's scope: one answer for both.
    #[error("case unavailable")]
    Unavailable,
    /// Anything the client cannot act on; the detail goes only to the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        ApiError::Internal(detail.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadCredentials | ApiError::Unauthorized(_) | ApiError::BadEnrolCode => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::DeviceRevoked(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_)
            | ApiError::MalformedSync(_)
            | ApiError::UnsupportedProtocol { .. }
            | ApiError::TooManyDocs { .. }
            | ApiError::HashMismatch => StatusCode::BAD_REQUEST,
            ApiError::OffsetMismatch { .. } => StatusCode::CONFLICT,
            ApiError::BlobTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::ActorInUse => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound | ApiError::Unavailable => StatusCode::NOT_FOUND,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadCredentials => "bad_credentials",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::DeviceRevoked(_) => "device_revoked",
            ApiError::BadEnrolCode => "bad_enrol_code",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::ActorInUse => "actor_in_use",
            ApiError::MalformedSync(_) => "malformed_sync",
            ApiError::UnsupportedProtocol { .. } => "unsupported_protocol",
            ApiError::TooManyDocs { .. } => "too_many_docs",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::BlobTooLarge { .. } => "blob_too_large",
            ApiError::HashMismatch => "hash_mismatch",
            ApiError::OffsetMismatch { .. } => "offset_mismatch",
            ApiError::NotFound => "not_found",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// What the client is told: enough to act on, nothing about the server's insides.
    fn client_message(&self) -> String {
        match self {
            ApiError::BadCredentials => "用户名或密码错误".into(),
            ApiError::Unauthorized(_) => "登录已失效，请重新登录".into(),
            ApiError::DeviceRevoked(None) => "此设备已被停用，请联系系统管理员".into(),
            ApiError::DeviceRevoked(Some(reason)) => {
                format!("此设备已被停用（{reason}），请联系系统管理员")
            }
            ApiError::BadEnrolCode => "设备登记码无效、已过期或已被使用".into(),
            ApiError::Forbidden(_) => "当前账号无权访问此内容".into(),
            ApiError::BadRequest(why) => format!("请求有误：{why}"),
            ApiError::ActorInUse => {
                "此设备的数据标识已登记在其他账号名下，不能用它登录本账号；请联系系统管理员".into()
            }
            ApiError::MalformedSync(_) => "同步数据不完整或格式错误".into(),
            ApiError::UnsupportedProtocol { found } => format!(
                "同步协议版本{found}不受支持（服务器为{}），请更新应用",
                hecha_shared::sync::PROTOCOL_VERSION
            ),
            ApiError::TooManyDocs { count, max } => {
                format!("一次同步最多{max}份案件，本次为{count}份")
            }
            ApiError::UnsupportedMediaType(_) => format!(
                "同步请求的内容类型应为 {}",
                hecha_shared::sync::CONTENT_TYPE
            ),
            ApiError::PayloadTooLarge => "请求数据过大，请分批同步".into(),
            ApiError::BlobTooLarge { size, max } => format!(
                "照片文件过大（{}字节，上限{} MB），服务器不接收",
                size,
                max / (1024 * 1024)
            ),
            ApiError::HashMismatch => {
                "照片数据校验失败（SHA-256 与编号不符），已丢弃这次上传，请重新上传".into()
            }
            ApiError::OffsetMismatch { received } => {
                format!("上传位置不对：服务器已收到{received}字节，请从那里继续")
            }
            ApiError::NotFound => "请求的地址不存在".into(),
            ApiError::Unavailable => "案件不存在或不在您的查看范围内".into(),
            ApiError::Internal(_) => "服务器内部错误，请稍后重试".into(),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Internal(format!("database: {e}"))
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::Malformed(detail) => ApiError::MalformedSync(detail),
            ProtocolError::UnsupportedVersion { found } => ApiError::UnsupportedProtocol { found },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), detail = %self, "request failed");
        } else {
            tracing::info!(code = self.code(), detail = %self, "request refused");
        }
        let reason = match &self {
            ApiError::DeviceRevoked(reason) => reason.clone(),
            _ => None,
        };
        let body = ErrorBody {
            error: self.code().to_string(),
            message: self.client_message(),
            reason,
        };
        (status, Json(body)).into_response()
    }
}
