//! Policy documents (IAM JSON policy grammar): parsed once into statements.

use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A principal element: `"*"` or a map of principal types to values.
#[derive(Debug, Clone, PartialEq)]
pub enum Principals {
    Any,
    /// AWS principals (ARNs, account ids, or `*`).
    Aws(Vec<String>),
}

/// One condition: operator (e.g. `StringEquals`, `ForAnyValue:StringLike`,
/// `NumericLessThanEqualsIfExists`) → key → values.
pub type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Principals>,
    pub not_principal: Option<Principals>,
    pub action: Option<Vec<String>>,
    pub not_action: Option<Vec<String>>,
    pub resource: Option<Vec<String>>,
    pub not_resource: Option<Vec<String>>,
    pub condition: Conditions,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

/// Why a document is not a policy (`MalformedPolicyDocumentException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn strings(v: &Value, what: &str) -> Result<Vec<String>, Malformed> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .ok_or_else(|| Malformed(format!("{what} values must be strings")))
            })
            .collect(),
        // Condition values may be booleans or numbers in JSON; IAM compares them as text.
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        _ => Err(Malformed(format!("{what} must be a string or a list of strings"))),
    }
}

fn principals(v: &Value) -> Result<Principals, Malformed> {
    match v {
        Value::String(s) if s == "*" => Ok(Principals::Any),
        Value::Object(m) => {
            let mut aws = Vec::new();
            for (k, v) in m {
                match k.as_str() {
                    "AWS" => aws.extend(strings(v, "Principal")?),
                    // Service and federated principals never match a Trent caller.
                    "Service" | "Federated" | "CanonicalUser" => {}
                    other => return Err(Malformed(format!("Unknown principal type {other}"))),
                }
            }
            Ok(Principals::Aws(aws))
        }
        _ => Err(Malformed("Principal must be \"*\" or an object".into())),
    }
}

impl PolicyDocument {
    /// Whether any statement has a Condition (only then does a request's context matter).
    pub fn has_conditions(&self) -> bool {
        self.statements.iter().any(|s| !s.condition.is_empty())
    }

    pub fn parse(text: &str) -> Result<Self, Malformed> {
        let v: Value = serde_json::from_str(text)
            .map_err(|_| Malformed("The policy is not valid JSON.".into()))?;
        let obj =
            v.as_object().ok_or_else(|| Malformed("The policy must be a JSON object.".into()))?;
        let statements = match obj.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(s @ Value::Object(_)) => vec![s.clone()],
            _ => return Err(Malformed("The policy must contain a Statement element.".into())),
        };
        let mut out = Vec::with_capacity(statements.len());
        for s in &statements {
            let s = s
                .as_object()
                .ok_or_else(|| Malformed("Each statement must be an object.".into()))?;
            let effect = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => {
                    return Err(Malformed(
                        "Each statement needs an Effect of Allow or Deny.".into(),
                    ))
                }
            };
            let opt = |k: &str| s.get(k).map(|v| strings(v, k)).transpose();
            let mut condition = Conditions::new();
            if let Some(c) = s.get("Condition") {
                let c = c
                    .as_object()
                    .ok_or_else(|| Malformed("Condition must be an object.".into()))?;
                for (op, keys) in c {
                    let keys = keys
                        .as_object()
                        .ok_or_else(|| Malformed(format!("Condition {op} must be an object.")))?;
                    let entry = condition.entry(op.clone()).or_default();
                    for (k, v) in keys {
                        entry.insert(k.clone(), strings(v, "Condition")?);
                    }
                }
            }
            out.push(Statement {
                sid: s.get("Sid").and_then(Value::as_str).map(String::from),
                effect,
                principal: s.get("Principal").map(principals).transpose()?,
                not_principal: s.get("NotPrincipal").map(principals).transpose()?,
                action: opt("Action")?,
                not_action: opt("NotAction")?,
                resource: opt("Resource")?,
                not_resource: opt("NotResource")?,
                condition,
            });
        }
        Ok(PolicyDocument { statements: out })
    }
}
