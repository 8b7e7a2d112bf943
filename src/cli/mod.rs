pub mod manifest;
pub mod wso2;
