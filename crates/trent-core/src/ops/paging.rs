//! The pages of the List operations: AWS's `Limit` (1 to 1,000, 100 by default) and
//! `Marker` rules, shared by every family that lists.

use crate::{KmsError, Result};
use trent_types::ErrorCode;

/// A ListKeys-style page: `limit` rows (1..=1000, default 100) after `marker`.
pub(crate) fn page_limit(limit: Option<i64>) -> usize {
    limit.unwrap_or(100).clamp(1, 1000) as usize
}

/// One page of `items` after the item whose id is `marker`; the next marker if more remain.
pub(crate) fn page_after<T: Clone>(
    items: &[T],
    marker: &Option<String>,
    limit: Option<i64>,
    id: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>)> {
    let start = match marker {
        Some(m) => items.iter().position(|i| &id(i) == m).map(|p| p + 1).ok_or_else(|| {
            KmsError::new(ErrorCode::InvalidMarkerException, "The marker is not valid.".into())
        })?,
        None => 0,
    };
    let limit = page_limit(limit);
    let out: Vec<T> = items.iter().skip(start).take(limit).cloned().collect();
    let next = if start + out.len() < items.len() { out.last().map(&id) } else { None };
    Ok((out, next))
}

#[cfg(test)]
mod tests {
    //! Pagination as the List* operations use it: Limit's default and bounds, markers, the
    //! last page, and a marker that names nothing.
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:03}")).collect()
    }

    fn page(
        items: &[String],
        marker: Option<&str>,
        limit: Option<i64>,
    ) -> Result<(Vec<String>, Option<String>)> {
        page_after(items, &marker.map(String::from), limit, |s| s.clone())
    }

    #[test]
    fn limit_defaults_to_100_and_is_clamped_to_1_through_1000() {
        for (limit, want) in [
            (None, 100),
            (Some(0), 1),
            (Some(1), 1),
            (Some(250), 250),
            (Some(1000), 1000),
            (Some(5000), 1000),
            (Some(-3), 1),
        ] {
            assert_eq!(page_limit(limit), want, "Limit {limit:?}");
        }
    }

    #[test]
    fn pages_follow_markers_to_the_end() {
        let items = ids(5);
        // (marker, limit, the page, the next marker)
        type Case<'a> = (Option<&'a str>, Option<i64>, &'a [&'a str], Option<&'a str>);
        let cases: &[Case] = &[
            (None, Some(2), &["000", "001"], Some("001")),
            (Some("001"), Some(2), &["002", "003"], Some("003")),
            (Some("003"), Some(2), &["004"], None),
            (None, Some(5), &["000", "001", "002", "003", "004"], None),
            (None, None, &["000", "001", "002", "003", "004"], None),
            (Some("004"), Some(2), &[], None),
        ];
        for (marker, limit, want, next) in cases {
            let (got, got_next) = page(&items, *marker, *limit).unwrap();
            assert_eq!(
                got,
                want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "marker {marker:?} limit {limit:?}"
            );
            assert_eq!(got_next.as_deref(), *next, "next marker after {marker:?} limit {limit:?}");
        }
    }

    #[test]
    fn a_marker_that_names_nothing_is_invalid() {
        let e = page(&ids(3), Some("999"), None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidMarkerException);
        assert_eq!(e.message(), "The marker is not valid.");
    }

    #[test]
    fn an_empty_list_is_one_empty_page() {
        assert_eq!(page(&[], None, None).unwrap(), (vec![], None));
    }
}
