//! A small JSON Schema validator for the keywords `schemars` emits (`$ref` into `$defs`, `type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `oneOf`, `anyOf`,
//! `allOf`, `minimum`, `maximum`). `pattern` and `format` are not checked. Enough to check the examples
//! against the checked-in schema without a heavy validator crate.

use serde_json::Value;

/// Every violation, as `path: what`.
pub fn schema_errors(schema: &Value, document: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, document, "$", &mut errors);
    errors
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn check(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{path}: not allowed"));
        }
        return;
    };
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        match resolve(root, reference) {
            Some(target) => check(root, target, value, path, errors),
            None => errors.push(format!("{path}: unresolved $ref {reference}")),
        }
    }
    if let Some(types) = schema.get("type") {
        let ok = match types {
            Value::String(name) => type_matches(name, value),
            Value::Array(names) => names
                .iter()
                .filter_map(Value::as_str)
                .any(|name| type_matches(name, value)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{path}: {value} is not of type {types}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{path}: {value} is not one of {options:?}"));
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            errors.push(format!("{path}: {value} is not {constant}"));
        }
    }
    if let (Some(minimum), Some(number)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if number < minimum {
            errors.push(format!("{path}: {number} < minimum {minimum}"));
        }
    }
    if let (Some(maximum), Some(number)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if number > maximum {
            errors.push(format!("{path}: {number} > maximum {maximum}"));
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for sub in all {
            check(root, sub, value, path, errors);
        }
    }
    for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
            let matching = options
                .iter()
                .filter(|sub| {
                    let mut sub_errors = Vec::new();
                    check(root, sub, value, path, &mut sub_errors);
                    sub_errors.is_empty()
                })
                .count();
            if (exactly_one && matching != 1) || (!exactly_one && matching == 0) {
                errors.push(format!(
                    "{path}: matches {matching} of the {keyword} alternatives"
                ));
            }
        }
    }
    if let Value::Object(members) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !members.contains_key(name) {
                    errors.push(format!("{path}: missing required `{name}`"));
                }
            }
        }
        for (name, member) in members {
            let member_path = format!("{path}.{name}");
            match properties.and_then(|properties| properties.get(name)) {
                Some(sub) => check(root, sub, member, &member_path, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{member_path}: unknown property"))
                    }
                    Some(sub @ Value::Object(_)) => check(root, sub, member, &member_path, errors),
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            check(root, item_schema, item, &format!("{path}[{index}]"), errors);
        }
    }
}
