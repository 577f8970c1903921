//! Which site is this page from? A dropped file has no URL, so pare reads it from the
//! page's head: `<link rel="canonical">`, `og:url`, the URL comment SingleFile writes,
//! the `saved from url=` comment browsers write, and `<base href>`, in that order.
//! Only the start of the page is read (up to `<body>` or 512 KiB).

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Comment, Element};
use lol_html::{DocumentContentHandlers, HtmlRewriter, Settings, element};

/// Where a page's URL was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UrlSource {
    /// Given on the command line (`--url`) or by the caller.
    Given,
    /// The inbox sub-folder the file was dropped in (`inbox/example.com/x.html`).
    Folder,
    Canonical,
    OgUrl,
    SingleFile,
    SavedFrom,
    Base,
    /// No URL: the publication's name (`og:site_name`, `application-name`, or a
    /// text's first or last paragraphs) matched a site file's `names`.
    Name,
}

const HEAD_LIMIT: usize = 512 * 1024;

#[derive(Default)]
struct Found {
    canonical: Option<String>,
    og: Option<String>,
    singlefile: Option<String>,
    saved_from: Option<String>,
    base: Option<String>,
    body: bool,
    /// `og:site_name`, `application-name`.
    site_name: Option<String>,
    app_name: Option<String>,
}

/// What a page's head says of where it comes from.
#[derive(Debug, Default)]
pub struct Head {
    /// The URL it names for itself, and where that was found.
    pub url: Option<(String, UrlSource)>,
    /// The publication's name (`og:site_name`, else `application-name`), normalized
    /// like page text; looked for only while no usable canonical link was found.
    pub name: Option<String>,
}

/// Reads the URL a page names for itself from its first bytes.
pub fn detect(head: &[u8]) -> Option<(String, UrlSource)> {
    read(head).url
}

/// Reads what a page's first bytes say of where it comes from, in one pass.
pub fn read(head: &[u8]) -> Head {
    let head = &head[..head.len().min(HEAD_LIMIT)];
    let found = Rc::new(RefCell::new(Found::default()));
    let (a, b, c, d, e) = (
        found.clone(),
        found.clone(),
        found.clone(),
        found.clone(),
        found.clone(),
    );
    let settings = Settings::new()
        .with_strict(false)
        .append_element_content_handler(element!("link[rel][href]", move |el: &mut Element| {
            let rel = el.get_attribute("rel").unwrap_or_default();
            if rel
                .split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("canonical"))
            {
                let mut f = a.borrow_mut();
                if f.canonical.is_none() {
                    f.canonical = el.get_attribute("href");
                    // The first choice found: the rest of the head cannot change the
                    // answer, so the pass stops here.
                    if f.canonical.as_deref().and_then(host_of).is_some() {
                        return Err("canonical found".into());
                    }
                }
            }
            Ok(())
        }))
        .append_element_content_handler(element!("meta[content]", move |el: &mut Element| {
            let p = el
                .get_attribute("property")
                .or_else(|| el.get_attribute("name"))
                .unwrap_or_default();
            let mut f = b.borrow_mut();
            if p.eq_ignore_ascii_case("og:url") {
                if f.og.is_none() {
                    f.og = el.get_attribute("content");
                }
            } else if p.eq_ignore_ascii_case("og:site_name") {
                if f.site_name.is_none() {
                    f.site_name = el.get_attribute("content");
                }
            } else if p.eq_ignore_ascii_case("application-name") && f.app_name.is_none() {
                f.app_name = el.get_attribute("content");
            }
            Ok(())
        }))
        .append_element_content_handler(element!("base[href]", move |el: &mut Element| {
            let mut f = c.borrow_mut();
            if f.base.is_none() {
                f.base = el.get_attribute("href");
            }
            Ok(())
        }))
        .append_element_content_handler(element!("body", move |_el: &mut Element| {
            e.borrow_mut().body = true;
            Err("body reached".into())
        }))
        .append_document_content_handler(DocumentContentHandlers::default().comments(
            move |com: &mut Comment| {
                let t = com.text();
                let mut f = d.borrow_mut();
                if f.saved_from.is_none()
                    && let Some(i) = t.find("saved from url=")
                {
                    let rest = &t[i + "saved from url=".len()..];
                    let rest = match rest.find(')') {
                        Some(p) if rest.starts_with('(') => &rest[p + 1..],
                        _ => rest,
                    };
                    f.saved_from = rest.split_whitespace().next().map(str::to_string);
                }
                if f.singlefile.is_none() && t.contains("SingleFile") {
                    f.singlefile = t
                        .lines()
                        .map(str::trim)
                        .find_map(|l| l.strip_prefix("url:"))
                        .map(|u| u.trim().to_string());
                }
                Ok(())
            },
        ));
    {
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        // The body handler (and a usable canonical link) stop the pass early with an
        // error; that is expected.
        if rw.write(head).is_ok() {
            let _ = rw.end();
        }
    }
    let f = found.borrow();
    let pick = [
        (&f.canonical, UrlSource::Canonical),
        (&f.og, UrlSource::OgUrl),
        (&f.singlefile, UrlSource::SingleFile),
        (&f.saved_from, UrlSource::SavedFrom),
        (&f.base, UrlSource::Base),
    ];
    let url = pick.into_iter().find_map(|(u, s)| {
        u.as_ref()
            .filter(|u| host_of(u).is_some())
            .map(|u| (u.clone(), s))
    });
    let name = f
        .site_name
        .as_ref()
        .or(f.app_name.as_ref())
        .map(|n| crate::text::normalize(n).trim().to_string())
        .filter(|n| !n.is_empty());
    Head { url, name }
}

/// The host of an absolute URL (`https://www.example.com:8080/x` → `www.example.com`),
/// or of a bare host (`example.com/x`).
pub fn host_of(url: &str) -> Option<String> {
    let u = url.trim();
    let rest = if let Some(i) = u.find("://") {
        let scheme = &u[..i];
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return None;
        }
        &u[i + 3..]
    } else if let Some(r) = u.strip_prefix("//") {
        r
    } else if u.contains([':', '@']) {
        return None; // another scheme (mailto:, javascript:, …)
    } else {
        u
    };
    let auth = rest.split(['/', '?', '#']).next()?;
    let auth = auth.rsplit('@').next()?;
    let host = if auth.starts_with('[') {
        auth.split(']').next()?.trim_start_matches('[')
    } else {
        auth.split(':').next()?
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.contains('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':');
    ok.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://www.Example.com:8080/a?b").as_deref(),
            Some("www.example.com")
        );
        assert_eq!(
            host_of("//cdn.example.org/x").as_deref(),
            Some("cdn.example.org")
        );
        assert_eq!(host_of("example.com/path").as_deref(), Some("example.com"));
        assert_eq!(host_of("/relative/path"), None);
        assert_eq!(host_of("mailto:a@b.c"), None);
    }

    #[test]
    fn canonical_beats_og_url_and_comments() {
        let page = br#"<!-- saved from url=(0030)https://saved.example.net/a -->
<html><head><meta property="og:url" content="https://og.example.org/a">
<link rel="canonical" href="https://www.canonical.example.com/a"></head><body>"#;
        assert_eq!(
            detect(page),
            Some((
                "https://www.canonical.example.com/a".into(),
                UrlSource::Canonical
            ))
        );
    }

    #[test]
    fn saved_from_and_singlefile_comments() {
        let page = b"<!-- saved from url=(0027)https://saved.example.net/ -->\n<html><body>";
        assert_eq!(detect(page).unwrap().1, UrlSource::SavedFrom);
        let page = b"<!DOCTYPE html> <html><!--\n Page saved with SingleFile \n url: https://sf.example.com/story \n saved date: Mon -->\n<head></head>";
        assert_eq!(
            detect(page),
            Some(("https://sf.example.com/story".into(), UrlSource::SingleFile))
        );
    }
}
