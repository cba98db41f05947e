//! The core's internal errors, and their one mapping into the `AppError` callers see.

use hecha_shared::app_api::{AppError, ErrorCode, SyncState};
use hecha_shared::case::{CaseDocError, FieldErrors};
use hecha_shared::CaseId;

/// Everything that can go wrong inside the core. Mapped into [`AppError`] (a code the UI
/// branches on and a Chinese message) exactly once, by `From<CoreError> for AppError`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CoreError {
    #[error("local database: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("local data directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("local store holds unreadable data: {0}")]
    Corrupt(String),
    #[error("case document: {0}")]
    Doc(Box<CaseDocError>),
    #[error("the local store lock was poisoned by a panic")]
    Poisoned,
    #[error("this device is not enrolled")]
    NotEnrolled,
    #[error("case {0} is not on this device")]
    CaseNotFound(CaseId),
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("server unreachable: {0}")]
    Network(String),
    #[error("wrong username or password")]
    BadCredentials,
    /// A one-time enrolment code the server does not accept (unknown, expired or used).
    #[error("enrolment code not accepted")]
    BadEnrolCode,
    /// `acknowledge_revocation` on a device that was not revoked.
    #[error("this device is not revoked")]
    NotRevoked,
    #[error("the server no longer accepts this device's token")]
    Unauthorized,
    /// The bureau revoked this device (with the reason it gave, if any).
    #[error("this device was revoked")]
    Revoked(Option<String>),
    #[error("the server refused the request ({status}, {code})")]
    Refused { status: u16, code: String },
    #[error("the server failed ({status}, {code})")]
    ServerFailed { status: u16, code: String },
    #[error("the server's answer is not understood: {0}")]
    Protocol(String),
    #[error("the sync run did not settle within {0} rounds")]
    TooManyRounds(u32),
    /// A photo file the pipeline refused.
    #[error("photo: {0}")]
    Photo(crate::photos::PhotoError),
    /// The server does not offer a photo's file (not uploaded yet, or out of scope).
    #[error("the photo's file is not available from the server")]
    PhotoUnavailable,
    /// A lifecycle step or record was refused; the message is the rule's (zh-CN).
    #[error("lifecycle: {0}")]
    Lifecycle(String),
}

pub(crate) type CoreResult<T> = Result<T, CoreError>;

impl From<CaseDocError> for CoreError {
    fn from(e: CaseDocError) -> Self {
        // Boxed: Automerge's errors are large and this one is rare.
        CoreError::Doc(Box::new(e))
    }
}

/// Shown whenever a sync cannot reach the server: the normal case in the field.
pub(crate) const MSG_OFFLINE: &str = "无法连接服务器，数据已保存在本机";

impl CoreError {
    /// The sync state a failed sync run leaves the device in, if the error is about
    /// talking to the server (`None` for local failures, which do not change it).
    pub(crate) fn sync_state(&self) -> Option<SyncState> {
        match self {
            CoreError::Network(_)
            | CoreError::ServerFailed { .. }
            | CoreError::Protocol(_)
            | CoreError::TooManyRounds(_) => Some(SyncState::Offline),
            CoreError::Revoked(_) => Some(SyncState::Revoked),
            CoreError::BadCredentials | CoreError::Unauthorized | CoreError::Refused { .. } => {
                Some(SyncState::Refused)
            }
            _ => None,
        }
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> AppError {
        use ErrorCode as C;
        match e {
            CoreError::Storage(_)
            | CoreError::Io(_)
            | CoreError::Corrupt(_)
            | CoreError::Doc(_)
            | CoreError::Poisoned => {
                tracing::error!(error = %e, "local store failure");
                AppError::new(C::Storage, "本机存储出错")
            }
            CoreError::NotEnrolled => AppError::new(C::NotEnrolled, "请先登录本设备"),
            CoreError::CaseNotFound(_) => AppError::new(C::NotFound, "本机没有这个个案"),
            CoreError::Validation(fields) => AppError::validation(fields),
            CoreError::Network(_) => AppError::new(C::Network, MSG_OFFLINE),
            CoreError::BadCredentials => AppError::new(C::BadCredentials, "用户名或密码错误"),
            CoreError::Unauthorized => {
                AppError::new(C::BadCredentials, "登录已失效，请重新登录本设备")
            }
            CoreError::Revoked(None) => AppError::new(C::Revoked, "本设备已被停用"),
            CoreError::Revoked(Some(reason)) => {
                AppError::new(C::Revoked, format!("本设备已被停用：{reason}"))
            }
            CoreError::BadEnrolCode => {
                AppError::new(C::BadCredentials, "设备登记码无效、已过期或已被使用")
            }
            CoreError::NotRevoked => AppError::new(C::Server, "本设备没有被停用"),
            CoreError::Refused { code, .. } if code == "unsupported_protocol" => {
                AppError::new(C::Server, "应用版本与服务器不兼容，请升级应用")
            }
            CoreError::Refused { status, code } => {
                AppError::new(C::Server, format!("服务器拒绝了请求（{status} {code}）"))
            }
            CoreError::ServerFailed { status, .. } => {
                AppError::new(C::Server, format!("服务器出错（{status}），请稍后重试"))
            }
            CoreError::Protocol(_) => {
                AppError::new(C::Server, "服务器的回答无法识别，请检查服务器地址")
            }
            CoreError::TooManyRounds(_) => {
                AppError::new(C::Server, "同步未能在本次完成，请稍后重试")
            }
            CoreError::Photo(e) => AppError::new(C::Photo, e.message_zh()),
            CoreError::PhotoUnavailable => AppError::new(
                C::NotFound,
                "服务器上还没有这张照片的原图（拍摄的设备可能尚未上传），请稍后再试",
            ),
            CoreError::Lifecycle(message) => AppError::new(C::Lifecycle, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_reaches_the_user_in_chinese_with_its_code() {
        let cases = [
            (
                CoreError::Network("refused".into()),
                ErrorCode::Network,
                MSG_OFFLINE,
            ),
            (
                CoreError::BadCredentials,
                ErrorCode::BadCredentials,
                "用户名或密码错误",
            ),
            (
                CoreError::Revoked(None),
                ErrorCode::Revoked,
                "本设备已被停用",
            ),
            (
                CoreError::Revoked(Some("手机遗失".into())),
                ErrorCode::Revoked,
                "本设备已被停用：手机遗失",
            ),
            (CoreError::Poisoned, ErrorCode::Storage, "本机存储出错"),
        ];
        for (error, code, message) in cases {
            let app = AppError::from(error);
            assert_eq!(app.code, code);
            assert_eq!(app.message, message);
        }
        let mut fields = FieldErrors::default();
        fields
            .0
            .insert("applicant.name".into(), "请填写申请人姓名".into());
        let app = AppError::from(CoreError::Validation(fields.clone()));
        assert_eq!(app.code, ErrorCode::Validation);
        assert_eq!(app.fields, fields);
    }

    #[test]
    fn unreachable_servers_leave_the_device_offline_and_refusals_need_people() {
        assert_eq!(
            CoreError::Network(String::new()).sync_state(),
            Some(SyncState::Offline)
        );
        assert_eq!(
            CoreError::Revoked(None).sync_state(),
            Some(SyncState::Revoked)
        );
        assert_eq!(
            CoreError::Unauthorized.sync_state(),
            Some(SyncState::Refused)
        );
        assert_eq!(CoreError::Poisoned.sync_state(), None);
    }
}
