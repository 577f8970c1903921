//! Translates the XPath 1.0 that FiveFilters site configs use into CSS selectors lol_html
//! can match, wherever that can be done faithfully.
//!
//! What translates: unions (`a | b`), `//` and `/` between steps (descendant and child
//! combinators), element names and `*`, the `descendant::`, `child::` and `self::` axes,
//! and predicates built from `@a`, `@a='v'`, `@a!='v'`, `contains(@a,'v')`,
//! `starts-with(@a,'v')`, the class-word idiom
//! `contains(concat(' ',normalize-space(@class),' '),' v ')`, `normalize-space(@a)='v'`,
//! `and`, `or`, `not(…)`, and a number as a step's first predicate (`[2]` →
//! `:nth-of-type(2)`). Everything else (other axes, text tests, `last()`, functions of
//! the document) is refused with a reason: a wrong translation would remove the wrong
//! part of a page, so refusing is the safe failure.
//!
//! Nothing here checks the result with lol_html; the caller does.

use std::fmt;

/// Why an XPath expression could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// A short class of reason, used to group the report (`axis`, `text test`, …).
    pub kind: &'static str,
    /// The offending part.
    pub detail: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

fn unsupported<T>(kind: &'static str, detail: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported {
        kind,
        detail: detail.into(),
    })
}

/// More alternatives than this (from `or` spread over several steps) is refused.
const MAX_ALTERNATIVES: usize = 32;

/// Translates an XPath expression selecting elements into a CSS selector list.
pub fn to_css(xpath: &str) -> Result<String, Unsupported> {
    let mut p = Parser::new(xpath);
    let alts = p.union(false)?;
    Ok(alts
        .into_iter()
        .map(|(css, _)| css)
        .collect::<Vec<_>>()
        .join(", "))
}

/// Translates an XPath expression selecting attributes (`//img/@srcset`) into a CSS
/// selector list for the elements and the attribute's name. Every branch of a union must
/// name the same attribute.
pub fn to_css_and_attribute(xpath: &str) -> Result<(String, String), Unsupported> {
    let mut p = Parser::new(xpath);
    let alts = p.union(true)?;
    let mut name: Option<String> = None;
    let mut sels = Vec::new();
    for (css, attr) in alts {
        let Some(attr) = attr else {
            return unsupported("not an attribute", xpath);
        };
        if name.as_ref().is_some_and(|n| *n != attr) {
            return unsupported("several attributes", xpath);
        }
        name = Some(attr);
        sels.push(css);
    }
    Ok((sels.join(", "), name.unwrap_or_default()))
}

/// A boolean condition on one element, before it is spread into CSS alternatives.
#[derive(Debug, Clone)]
enum Cond {
    /// A CSS simple selector (`[a*="v"]`, `.v`, `:nth-of-type(2)`).
    Atom(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

/// A literal of the disjunctive normal form: a simple selector, maybe negated.
type Lit = (bool, String);

/// Spreads a condition into alternatives, each a conjunction of literals.
fn dnf(c: &Cond, negated: bool) -> Result<Vec<Vec<Lit>>, Unsupported> {
    let out = match (c, negated) {
        (Cond::Atom(a), neg) => vec![vec![(neg, a.clone())]],
        (Cond::Not(inner), neg) => dnf(inner, !neg)?,
        (Cond::And(cs), false) | (Cond::Or(cs), true) => {
            let mut acc: Vec<Vec<Lit>> = vec![Vec::new()];
            for c in cs {
                let alts = dnf(c, negated)?;
                let mut next = Vec::new();
                for a in &acc {
                    for b in &alts {
                        next.push(a.iter().chain(b).cloned().collect());
                    }
                }
                if next.len() > MAX_ALTERNATIVES {
                    return unsupported("too many alternatives", "");
                }
                acc = next;
            }
            acc
        }
        (Cond::Or(cs), false) | (Cond::And(cs), true) => {
            let mut acc = Vec::new();
            for c in cs {
                acc.extend(dnf(c, negated)?);
            }
            if acc.len() > MAX_ALTERNATIVES {
                return unsupported("too many alternatives", "");
            }
            acc
        }
    };
    Ok(out)
}

/// Writes one CSS compound from a tag and a conjunction of literals.
fn compound(tag: &str, lits: &[Lit]) -> String {
    let mut s = if tag == "*" && !lits.is_empty() {
        String::new()
    } else {
        tag.to_string()
    };
    for (neg, a) in lits {
        if *neg {
            s.push_str(":not(");
            s.push_str(a);
            s.push(')');
        } else {
            s.push_str(a);
        }
    }
    s
}

/// Quotes a CSS string value.
pub fn css_string(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\a "),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Is `v` a CSS identifier that needs no escaping (so `.v` can be written)?
pub fn plain_ident(v: &str) -> bool {
    let mut cs = v.chars();
    let first_ok = match cs.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => true,
        Some('-') => v[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
        _ => false,
    };
    first_ok
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

/// One location step while it is being read.
struct Step {
    tag: String,
    cond: Vec<Cond>,
    /// `descendant::` axis: any depth below the previous step.
    descendant: bool,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser { src, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn eat(&mut self, s: &str) -> bool {
        self.ws();
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Result<(), Unsupported> {
        if self.eat(s) {
            Ok(())
        } else {
            unsupported("syntax", format!("expected `{s}` at `{}`", self.rest()))
        }
    }

    fn name(&mut self) -> Option<&'a str> {
        self.ws();
        let r = self.rest();
        let n = r
            .char_indices()
            .find(|&(_, c)| !is_name_char(c))
            .map_or(r.len(), |(i, _)| i);
        if n == 0 || !r.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        self.pos += n;
        Some(&r[..n])
    }

    fn string(&mut self) -> Result<String, Unsupported> {
        self.ws();
        let r = self.rest();
        let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            return unsupported("syntax", format!("expected a string at `{r}`"));
        };
        let Some(end) = r[1..].find(q) else {
            return unsupported("syntax", "unclosed string");
        };
        self.pos += end + 2;
        Ok(r[1..end + 1].to_string())
    }

    /// `path ('|' path)*`, to the end of the input. Each alternative is a CSS complex
    /// selector and, when `attributes` allows it, the attribute the path ends on.
    fn union(&mut self, attributes: bool) -> Result<Vec<(String, Option<String>)>, Unsupported> {
        let mut alts = Vec::new();
        loop {
            alts.extend(self.path(attributes)?);
            if alts.len() > MAX_ALTERNATIVES {
                return unsupported("too many alternatives", self.src);
            }
            if !self.eat("|") {
                break;
            }
        }
        self.ws();
        if !self.rest().is_empty() {
            return unsupported("syntax", format!("unexpected `{}`", self.rest()));
        }
        Ok(alts)
    }

    fn path(&mut self, attributes: bool) -> Result<Vec<(String, Option<String>)>, Unsupported> {
        self.ws();
        if self.rest().starts_with('(') {
            return unsupported("parenthesised path", self.src);
        }
        // A path from the document: `//x`, `/html/x`, or `.//x` (the document is the
        // context node in FiveFilters).
        self.ws();
        if self.rest().starts_with(".//") {
            self.pos += 1;
        }
        let mut combinator = if self.eat("//") {
            None
        } else if self.eat("/") {
            Some(" > ")
        } else {
            return unsupported("relative path", self.src);
        };
        // Alternatives built so far, as CSS complex selectors.
        let mut alts: Vec<String> = vec![String::new()];
        let mut first = true;
        let mut attr = None;
        loop {
            self.ws();
            if attributes && self.eat("@") {
                let Some(n) = self.name() else {
                    return unsupported("syntax", "attribute name");
                };
                if n.contains(':') {
                    return unsupported("namespace", n);
                }
                attr = Some(n.to_ascii_lowercase());
                break;
            }
            if self.rest().starts_with('@') {
                return unsupported("attribute step", self.src);
            }
            let step = self.step()?;
            if step.descendant {
                combinator = None;
            }
            if step.tag.is_empty() {
                // `self::*` after a step: nothing to add.
                if first {
                    return unsupported("self axis", self.src);
                }
            } else {
                let step_alts = dnf(&Cond::And(step.cond), false)?;
                let mut next = Vec::new();
                for a in &alts {
                    for lits in &step_alts {
                        let mut s = a.clone();
                        if !first {
                            s.push_str(combinator.unwrap_or(" "));
                        }
                        s.push_str(&compound(&step.tag, lits));
                        next.push(s);
                    }
                }
                if next.len() > MAX_ALTERNATIVES {
                    return unsupported("too many alternatives", self.src);
                }
                alts = next;
                first = false;
            }
            self.ws();
            if self.rest().starts_with("//") {
                self.pos += 2;
                combinator = None;
            } else if self.rest().starts_with('/') {
                self.pos += 1;
                combinator = Some(" > ");
            } else {
                break;
            }
        }
        if first {
            return unsupported("syntax", self.src);
        }
        Ok(alts.into_iter().map(|a| (a, attr.clone())).collect())
    }

    /// One step: `axis::name[pred]…`. A `self::*` step comes back with an empty tag.
    fn step(&mut self) -> Result<Step, Unsupported> {
        self.ws();
        if self.rest().starts_with("..") {
            return unsupported("axis", "parent (`..`)");
        }
        if self.rest().starts_with('.') {
            return unsupported("axis", "self (`.`)");
        }
        let mut self_axis = false;
        let mut descendant = false;
        if let Some(i) = self.rest().find("::") {
            let axis = self.rest()[..i].trim();
            if !axis.is_empty() && axis.chars().all(|c| c.is_ascii_alphabetic() || c == '-') {
                match axis {
                    "child" => {}
                    "descendant" => descendant = true,
                    "self" => self_axis = true,
                    other => return unsupported("axis", format!("{other}::")),
                }
                self.pos += i + 2;
            }
        }
        self.ws();
        let tag = if self.eat("*") {
            "*".to_string()
        } else {
            match self.name() {
                Some(n) if self.rest().trim_start().starts_with('(') => {
                    let kind = match n {
                        "text" | "comment" | "node" | "processing-instruction" => "node test",
                        _ => "function",
                    };
                    return unsupported(kind, format!("{n}()"));
                }
                Some(n) if self.rest().starts_with(':') && !self.rest().starts_with("::") => {
                    return unsupported("namespace", n);
                }
                Some(n) if n.contains('.') => {
                    return unsupported("syntax", n);
                }
                Some(n) => n.to_ascii_lowercase(),
                None => {
                    return unsupported("syntax", format!("expected a step at `{}`", self.rest()));
                }
            }
        };
        let mut cond = Vec::new();
        let mut n_pred = 0;
        while self.eat("[") {
            self.ws();
            let r = self.rest();
            let digits = r.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 && r[digits..].trim_start().starts_with(']') {
                if n_pred > 0 {
                    return unsupported("position after a filter", self.src);
                }
                let n: u32 = r[..digits]
                    .parse()
                    .or_else(|_| unsupported("syntax", "position"))?;
                self.pos += digits;
                let pseudo = if tag == "*" {
                    "nth-child"
                } else {
                    "nth-of-type"
                };
                cond.push(Cond::Atom(format!(":{pseudo}({n})")));
            } else {
                cond.push(self.or_expr()?);
            }
            self.expect("]")?;
            n_pred += 1;
        }
        if self_axis {
            if tag != "*" {
                return unsupported("axis", format!("self::{tag}"));
            }
            if !cond.is_empty() {
                return unsupported("axis", "self:: with a predicate");
            }
            return Ok(Step {
                tag: String::new(),
                cond,
                descendant,
            });
        }
        Ok(Step {
            tag,
            cond,
            descendant,
        })
    }

    fn or_expr(&mut self) -> Result<Cond, Unsupported> {
        let mut v = vec![self.and_expr()?];
        while self.keyword("or") {
            v.push(self.and_expr()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap()
        } else {
            Cond::Or(v)
        })
    }

    fn and_expr(&mut self) -> Result<Cond, Unsupported> {
        let mut v = vec![self.unary()?];
        while self.keyword("and") {
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap()
        } else {
            Cond::And(v)
        })
    }

    /// `and` / `or` followed by a non-name character.
    fn keyword(&mut self, k: &str) -> bool {
        self.ws();
        let r = self.rest();
        if r.starts_with(k) && !r[k.len()..].starts_with(is_name_char) {
            self.pos += k.len();
            true
        } else {
            false
        }
    }

    /// What an attribute-valued argument refers to.
    fn operand(&mut self) -> Result<Operand, Unsupported> {
        self.ws();
        if self.eat("@") {
            return match self.name() {
                Some(n) if !n.contains(':') => Ok(Operand::Attr(n.to_ascii_lowercase())),
                _ => unsupported("syntax", "attribute name"),
            };
        }
        let r = self.rest();
        if r.starts_with("normalize-space") {
            self.pos += "normalize-space".len();
            self.expect("(")?;
            let inner = self.operand()?;
            self.expect(")")?;
            return match inner {
                Operand::Attr(a) => Ok(Operand::Normalized(a)),
                _ => unsupported("text test", "normalize-space()"),
            };
        }
        if r.starts_with("concat") {
            // Only the class-word idiom: concat(' ', normalize-space(@a), ' ').
            self.pos += "concat".len();
            self.expect("(")?;
            let pre = self.string()?;
            self.expect(",")?;
            let inner = self.operand()?;
            self.expect(",")?;
            let post = self.string()?;
            self.expect(")")?;
            return match inner {
                Operand::Attr(a) | Operand::Normalized(a) if pre == " " && post == " " => {
                    Ok(Operand::Padded(a))
                }
                _ => unsupported("function", "concat() other than the class-word idiom"),
            };
        }
        if r.starts_with("text()") || r.starts_with('.') || r.starts_with("string(") {
            return unsupported("text test", r.chars().take(20).collect::<String>());
        }
        unsupported("function", r.chars().take(30).collect::<String>())
    }

    fn unary(&mut self) -> Result<Cond, Unsupported> {
        self.ws();
        if self.eat("(") {
            let c = self.or_expr()?;
            self.expect(")")?;
            return Ok(c);
        }
        let r = self.rest();
        for f in ["not", "contains", "starts-with", "ends-with"] {
            if r.starts_with(f) && r[f.len()..].trim_start().starts_with('(') {
                self.pos += f.len();
                self.expect("(")?;
                if f == "not" {
                    let c = self.or_expr()?;
                    self.expect(")")?;
                    return Ok(Cond::Not(Box::new(c)));
                }
                if f == "ends-with" {
                    return unsupported("function", "ends-with() (XPath 2)");
                }
                let what = self.operand()?;
                self.expect(",")?;
                let v = self.string()?;
                self.expect(")")?;
                return substring_atom(f, what, &v);
            }
        }
        if r.starts_with('@') || r.starts_with("normalize-space") {
            let what = self.operand()?;
            self.ws();
            let neg = if self.eat("!=") {
                true
            } else if self.eat("=") {
                false
            } else {
                return match what {
                    Operand::Attr(a) => Ok(Cond::Atom(format!("[{a}]"))),
                    _ => unsupported("function", "normalize-space() as a test"),
                };
            };
            let v = self.string()?;
            let a = match what {
                Operand::Attr(a) | Operand::Normalized(a) => a,
                Operand::Padded(_) => return unsupported("function", "concat() compared"),
            };
            let eq = Cond::Atom(format!("[{a}={}]", css_string(&v)));
            return Ok(if neg {
                // XPath `@a!='v'` needs the attribute to exist.
                Cond::And(vec![Cond::Atom(format!("[{a}]")), Cond::Not(Box::new(eq))])
            } else {
                eq
            });
        }
        if r.starts_with("last()") || r.starts_with("position()") {
            return unsupported("position function", r.chars().take(12).collect::<String>());
        }
        if r.starts_with("text()") || r.starts_with('.') {
            return unsupported("text test", r.chars().take(20).collect::<String>());
        }
        if r.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let n: String = r.chars().take_while(|c| is_name_char(*c)).collect();
            if r[n.len()..].trim_start().starts_with('(') {
                return unsupported("function", format!("{n}()"));
            }
            return unsupported("child test", n);
        }
        unsupported("syntax", format!("unexpected `{r}`"))
    }
}

enum Operand {
    /// `@a`
    Attr(String),
    /// `normalize-space(@a)`
    Normalized(String),
    /// `concat(' ', normalize-space(@a), ' ')`
    Padded(String),
}

/// `contains(…)` / `starts-with(…)` over an attribute, as a CSS attribute selector.
fn substring_atom(f: &str, what: Operand, v: &str) -> Result<Cond, Unsupported> {
    match what {
        Operand::Attr(a) | Operand::Normalized(a) if !v.is_empty() => {
            let op = if f == "contains" { "*=" } else { "^=" };
            Ok(Cond::Atom(format!("[{a}{op}{}]", css_string(v))))
        }
        Operand::Padded(a) if f == "contains" => {
            // The attribute, padded with a space each side, contains v.
            let (lead, trail) = (v.starts_with(' '), v.ends_with(' ') && v.len() > 1);
            let w = v.trim_matches(' ');
            if w.is_empty() || w.contains(char::is_whitespace) {
                return unsupported("function", format!("concat() idiom with `{v}`"));
            }
            let q = css_string(w);
            Ok(match (lead, trail) {
                // ' word ': the attribute holds this whole word.
                (true, true) if a == "class" && plain_ident(w) => Cond::Atom(format!(".{w}")),
                (true, true) => Cond::Atom(format!("[{a}~={q}]")),
                // ' word': a word starting so.
                (true, false) => Cond::Or(vec![
                    Cond::Atom(format!("[{a}^={q}]")),
                    Cond::Atom(format!("[{a}*={}]", css_string(&format!(" {w}")))),
                ]),
                // 'word ': a word ending so.
                (false, true) => Cond::Or(vec![
                    Cond::Atom(format!("[{a}$={q}]")),
                    Cond::Atom(format!("[{a}*={}]", css_string(&format!("{w} ")))),
                ]),
                // No padding: a plain substring.
                (false, false) => Cond::Atom(format!("[{a}*={q}]")),
            })
        }
        Operand::Padded(_) => unsupported("function", "starts-with(concat(…))"),
        _ => unsupported("function", format!("{f}() with an empty string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn css(x: &str) -> String {
        to_css(x).unwrap_or_else(|e| panic!("{x}: {e}"))
    }

    fn refused(x: &str) -> &'static str {
        to_css(x).expect_err(x).kind
    }

    #[test]
    fn steps_and_combinators() {
        assert_eq!(css("//div"), "div");
        assert_eq!(css("//DIV//p"), "div p");
        assert_eq!(css("//div/p"), "div > p");
        assert_eq!(css("/html/body/div"), "html > body > div");
        assert_eq!(css(".//aside"), "aside");
        assert_eq!(css("//*"), "*");
        assert_eq!(css("//div/descendant::span"), "div span");
        assert_eq!(css("//div/child::span"), "div > span");
        assert_eq!(css("//div[@id='x']/self::*"), "div[id=\"x\"]");
    }

    #[test]
    fn attribute_predicates() {
        assert_eq!(css("//div[@class='x']"), r#"div[class="x"]"#);
        assert_eq!(css("//div[@class=\"x y\"]"), r#"div[class="x y"]"#);
        assert_eq!(css("//*[contains(@class, 'share')]"), r#"[class*="share"]"#);
        assert_eq!(
            css("//a[starts-with(@href,'/tag/')]"),
            r#"a[href^="/tag/"]"#
        );
        assert_eq!(css("//img[@data-src]"), "img[data-src]");
        assert_eq!(
            css("//div[contains(concat(' ',normalize-space(@class),' '),' related ')]"),
            "div.related"
        );
        assert_eq!(
            css("//div[contains(concat(' ', normalize-space(@class), ' '), ' a:b ')]"),
            r#"div[class~="a:b"]"#
        );
        assert_eq!(
            css("//p[normalize-space(@class)='lead']"),
            r#"p[class="lead"]"#
        );
    }

    #[test]
    fn boolean_predicates_spread_into_alternatives() {
        assert_eq!(
            css("//div[@id='a' or @id='b']"),
            r#"div[id="a"], div[id="b"]"#
        );
        assert_eq!(
            css("//div[@class='a' and not(@id)]"),
            r#"div[class="a"]:not([id])"#
        );
        assert_eq!(
            css("//div[not(@id='a' or @id='b')]"),
            r#"div:not([id="a"]):not([id="b"])"#
        );
        assert_eq!(
            css("//div[@role!='main']"),
            r#"div[role]:not([role="main"])"#
        );
        assert_eq!(
            css("//div[(@a or @b) and @c]//p | //aside"),
            "div[a][c] p, div[b][c] p, aside"
        );
    }

    #[test]
    fn positions() {
        assert_eq!(css("//ul/li[2]"), "ul > li:nth-of-type(2)");
        assert_eq!(css("//div/*[1]"), "div > :nth-child(1)");
        assert_eq!(refused("//li[@class='a'][2]"), "position after a filter");
        assert_eq!(refused("//li[last()]"), "position function");
    }

    #[test]
    fn refusals_name_their_reason() {
        assert_eq!(refused("//a/ancestor::section[1]"), "axis");
        assert_eq!(refused("//h2/following-sibling::p"), "axis");
        assert_eq!(refused("//div/.."), "axis");
        assert_eq!(refused("//p[contains(text(), 'Read more')]"), "text test");
        assert_eq!(refused("//p[contains(., 'Read more')]"), "text test");
        assert_eq!(refused("//comment()"), "node test");
        assert_eq!(refused("//div/text()"), "node test");
        assert_eq!(refused("(//div)[1]"), "parenthesised path");
        assert_eq!(refused("div"), "relative path");
        assert_eq!(refused("//div[p]"), "child test");
        assert_eq!(refused("substring-before(//x, 'a')"), "relative path");
        assert_eq!(refused("//div[@class='x'"), "syntax");
        assert_eq!(refused("//svg:path"), "namespace");
        assert_eq!(refused("//img/@src"), "attribute step");
    }

    #[test]
    fn strings_are_quoted_for_css() {
        assert_eq!(css(r#"//a[@title='say "hi"']"#), r#"a[title="say \"hi\""]"#);
        assert_eq!(css(r#"//a[@title="it's"]"#), r#"a[title="it's"]"#);
        assert_eq!(
            css(r"//a[@title='back\slash']"),
            r#"a[title="back\\slash"]"#
        );
    }

    #[test]
    fn attribute_paths() {
        assert_eq!(
            to_css_and_attribute("//img/@srcset").unwrap(),
            ("img".to_string(), "srcset".to_string())
        );
        assert_eq!(
            to_css_and_attribute("//*/@class | //div[@x]/@class").unwrap(),
            ("*, div[x]".to_string(), "class".to_string())
        );
        assert_eq!(
            to_css_and_attribute("//img/@a | //img/@b")
                .unwrap_err()
                .kind,
            "several attributes"
        );
        assert_eq!(
            to_css_and_attribute("//img").unwrap_err().kind,
            "not an attribute"
        );
    }
}
