//! The rule-file format as it is written on disk (serde types), before validation.
//!
//! Nothing here compiles selectors or checks meaning; `load` does that and turns
//! every problem into a `path:line:col` error.

use serde::Deserialize;
use toml::Spanned;

/// One rule file: either generic (applies to every page) or for a list of domains.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Domains this file covers; subdomains included (`example.com` covers `www.example.com`).
    pub domains: Option<Spanned<Vec<Spanned<String>>>>,
    /// Subdomains of `domains` this file is not for (nor their subdomains): another file
    /// covers them.
    pub except_domains: Option<Spanned<Vec<Spanned<String>>>>,
    /// `subdomains = false`: `domains` name exact hosts (`www.` in front is the same
    /// host), not every subdomain.
    pub subdomains: Option<Spanned<bool>>,
    /// The publication's names (`["The Moscow Times"]`): a page with no URL is matched
    /// by its `og:site_name` or `application-name`, a text by the name in its first or
    /// last paragraphs.
    pub names: Option<Spanned<Vec<Spanned<String>>>>,
    /// `generic = true` marks a file whose rules apply to every page.
    pub generic: Option<Spanned<bool>>,
    /// Ids of generic rules this site switches off.
    #[serde(default)]
    pub disable: Vec<Spanned<String>>,
    /// The rules, in the order they are written.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Spanned<RawRule>>,
    /// Examples checked by `pare test`.
    #[serde(default, rename = "example")]
    pub examples: Vec<Spanned<RawExample>>,
}

/// One `[[rule]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: Option<Spanned<String>>,
    pub category: Option<Spanned<String>>,
    /// Why the rule exists (free text, shown by `pare explain`).
    #[serde(default)]
    pub note: Option<String>,

    // Actions: exactly one of these.
    pub remove: Option<Spanned<String>>,
    pub remove_containing: Option<Spanned<Vec<Spanned<String>>>>,
    pub remove_matching: Option<Spanned<String>>,
    pub cut_after: Option<Spanned<String>>,
    pub unwrap: Option<Spanned<String>>,
    pub drop_attributes: Option<Spanned<Vec<Spanned<String>>>>,
    pub lazy_images: Option<Spanned<bool>>,
    pub drop_between: Option<Spanned<RawBetween>>,
    pub keep: Option<Spanned<String>>,

    // Modifiers.
    /// For text actions: which elements may be removed (the smallest one holding the text).
    pub within: Option<Spanned<String>>,
    /// For `drop_attributes` and `lazy_images`: which elements are touched.
    pub selector: Option<Spanned<String>>,

    // Conditions (removal rules): decided when the element ends, or, for `where`,
    // against the located article at the end of the page.
    pub min_words: Option<Spanned<i64>>,
    pub max_words: Option<Spanned<i64>>,
    pub min_link_density: Option<Spanned<f64>>,
    pub max_link_density: Option<Spanned<f64>>,
    /// Selectors a descendant must match (`form, input[type=email]`).
    pub has: Option<Spanned<String>>,
    /// `"outside_article"` or `"inside_article"`.
    #[serde(rename = "where")]
    pub place: Option<Spanned<String>>,
    /// Site files only: this rule may take the located article's text (the article
    /// guard lets it through; the page-share guard still applies).
    pub may_take_article: Option<Spanned<bool>>,
}

/// `drop_between = { start = "…", end = "…" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBetween {
    pub start: Spanned<String>,
    pub end: Spanned<String>,
}

/// One `[[example]]` table: a page (inline or a path) and what must go and stay.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawExample {
    /// Inline HTML (or text) to clean.
    pub html: Option<String>,
    /// A file, relative to the rule file's folder.
    pub file: Option<String>,
    /// The page's URL, when the snippet does not name one.
    pub url: Option<String>,
    /// Phrases that must be gone from the output.
    #[serde(default)]
    pub gone: Vec<String>,
    /// Phrases that must remain in the output.
    #[serde(default)]
    pub kept: Vec<String>,
    /// Clean it as this profile does (`reader`: a reading copy, every category; `page`,
    /// the default). Checked by `pare test`, which knows the profiles.
    pub profile: Option<String>,
    /// The categories to apply, as `pare clean --categories` takes them (`+chrome`).
    pub categories: Option<String>,
}
