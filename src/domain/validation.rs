//! Field errors collected while parsing input into domain types, so a caller learns every
//! problem with a request at once.

use serde::Serialize;

/// One problem with one field, named by its JSON path (`resources[1].path`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A write-only field (a secret) as a request gives it. Responses never show it, so a
/// request that omits it keeps the stored value; `null` removes it (refused where the
/// secret is required).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WriteOnly<T> {
    #[default]
    Keep,
    Remove,
    Set(T),
}

impl<T> WriteOnly<T> {
    /// `None` is `null`: removal.
    pub fn given(value: Option<T>) -> Self {
        value.map_or(WriteOnly::Remove, WriteOnly::Set)
    }

    pub fn as_deref(&self) -> WriteOnly<&T::Target>
    where
        T: std::ops::Deref,
    {
        match self {
            WriteOnly::Keep => WriteOnly::Keep,
            WriteOnly::Remove => WriteOnly::Remove,
            WriteOnly::Set(value) => WriteOnly::Set(&**value),
        }
    }

    /// The new value, if the request gives one.
    pub fn new_value(self) -> Option<T> {
        match self {
            WriteOnly::Set(value) => Some(value),
            WriteOnly::Keep | WriteOnly::Remove => None,
        }
    }
}

/// Accumulates field errors; `finish` turns them into a result.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    /// Records the error of a parse and returns its value, if any.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|reason| self.add(field, reason)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

/// Serde conversions for string newtypes validated by their `parse`: deserializing
/// validates again, so a stored design cannot smuggle in an invalid value.
macro_rules! parsed_string {
    ($($name:ident),* $(,)?) => {$(
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    )*};
}
pub(crate) use parsed_string;
