"""Animal and tutor search on the database's own full-text engine.

The index (registry.search_index) holds one folded document per animal (its
name, its tutor's name, microchip/CPF/phones/e-mail) and one per tutor (name,
their animals' names, CPF/phones/e-mail), kept in sync by triggers. This
module turns what the receptionist typed into a query for that index:

* Words in any order, each must match somewhere in the document (AND), as a
  substring of the folded text: accent- and case-insensitive ("jose
  conceicao" finds "José da Conceição"; "Thor Conceição" finds Thor whose
  tutor is a Conceição).
* Identifiers in any format: a query made only of digits and punctuation is
  one number (CPF with or without punctuation, phone with or without DDD,
  +55 or a leading 0, old 8-digit mobile numbers, microchip or its last
  digits); an e-mail is matched lower-cased.
* Terms of 1-2 characters cannot use a trigram index: they filter the rows the
  other terms found (as a word prefix), or, when the whole query is short,
  become an indexed prefix search on the names.
* When nothing matches, a typo-tolerant pass (adjacent transpositions,
  one missing, extra or wrong letter) asks the same index for candidates and
  keeps those within a small edit distance ("Tohr" finds "Thor").
* Ranking is the engine's: FTS5 bm25 on SQLite (animal name weighs more than
  tutor name, more than identifiers), pg_trgm word_similarity on PostgreSQL.

User input never reaches the engine's syntax: every FTS5 term is a quoted
string (embedded quotes doubled) and every LIKE pattern is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils.functional import cached_property

from . import search_index as idx
from .models import Animal, Photo
from .validators import ascii_digits, fold, only_digits

_NUMERIC = re.compile(r"^[0-9\s.\-()/+]+$")
_EDGE_PUNCT = ",;:\"'()[]{}<>!?"
MAX_RESULTS = 1000      # ranked ids kept per search (the list paginates over them)
EXPORT_MAX_RESULTS = 200_000
EXPORT_BATCH = 500      # ranked ids loaded per query by the export (SQLite's parameter limit is far above)
FUZZY_CANDIDATES = 300  # index candidates verified by edit distance
FUZZY_RESULTS = 25
BROAD_MATCHES = 5000    # above this many matches, newest first instead of ranking them all
MAX_TERMS = 8


def is_numeric_query(q: str) -> bool:
    return bool(_NUMERIC.match(ascii_digits(q, strict=False))) and len(only_digits(q)) >= 3


@dataclass(frozen=True)
class Term:
    kind: str                 # "name" | "digits" | "email"
    text: str                 # folded text, digits or lower-cased e-mail
    alternatives: tuple[str, ...]

    @property
    def indexable(self) -> bool:
        return all(len(a) >= 3 for a in self.alternatives)


def _phone_alternatives(digits: str) -> tuple[str, ...]:
    alts = [digits]
    d = digits
    if len(d) in (12, 13) and d.startswith("55"):   # +55 country code
        d = d[2:]
        alts.append(d)
    if len(d) in (11, 12) and d.startswith("0"):    # 0 + DDD trunk prefix
        d = d[1:]
        alts.append(d)
    if len(d) == 10 and d[2] in "6789":             # a mobile with DDD written before the extra 9
        alts.append(d[:2] + "9" + d[2:])
    return tuple(dict.fromkeys(alts))


def parse(q: str) -> list[Term]:
    # issue 13: any decimal digit (full-width, Arabic-Indic...) is an ASCII digit here too
    q = ascii_digits((q or "").strip()[:200], strict=False)
    if not q:
        return []
    if is_numeric_query(q):
        digits = only_digits(q)
        return [Term("digits", digits, _phone_alternatives(digits))]
    terms: list[Term] = []
    for raw in q.split():
        token = raw.strip(_EDGE_PUNCT)
        if not token:
            continue
        if "@" in token:
            # The index is probed with the part before "@" (a shared domain's trigrams are in
            # most documents and would make the probe slow); the whole address filters the rows.
            text = fold(token)
            local = text.split("@", 1)[0]
            terms.append(Term("email", text, (local if len(local) >= 3 else text,)))
        elif _NUMERIC.match(token) and only_digits(token):
            digits = only_digits(token)
            terms.append(Term("digits", digits, _phone_alternatives(digits)))
        else:
            text = fold(token)
            if text:
                terms.append(Term("name", text, (text,)))
    unique = list(dict.fromkeys(terms))
    # Longest (most selective) first; bounded so a pasted paragraph stays cheap.
    return sorted(unique, key=lambda t: -len(t.text))[:MAX_TERMS]


# --- escaping -------------------------------------------------------------------

def fts_string(text: str) -> str:
    """An FTS5 string literal: no operator, column filter or prefix syntax survives."""
    return '"' + text.replace('"', '""') + '"'


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- typo tolerance ----------------------------------------------------------------

def allowed_edits(term: str) -> int:
    return 0 if len(term) < 4 else 1 if len(term) < 7 else 2


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def typo_variants(term: str) -> list[tuple[str, ...]]:
    """Index probes that every word within one edit of `term` contains.

    Each variant is a tuple of substrings that must all occur. Adjacent
    transpositions (whole term), deletions (the term minus one letter: the
    word lacks an extra letter typed) and, for a wrong or missing letter at
    position i, the untouched parts before and after it.
    """
    n = len(term)
    out: list[tuple[str, ...]] = [(term,)]
    for i in range(n - 1):
        out.append((term[:i] + term[i + 1] + term[i] + term[i + 2:],))
    if n >= 4:
        for i in range(n):
            left, right = term[:i], term[i + 1:]
            parts = tuple(p for p in (left, right) if len(p) >= 3)
            if parts:
                out.append(parts)
            if n >= 5:
                out.append((left + right,))
    if allowed_edits(term) >= 2:  # two edits: what is left around two positions
        for i in range(n):
            for j in range(i + 1, n):
                parts = tuple(p for p in (term[:i], term[i + 1:j], term[j + 1:]) if len(p) >= 3)
                if parts:
                    out.append(parts)
    # Each variant must keep most of the word: a lone 3-letter piece of a long word
    # ("coa" of "pipcoa") would fetch a large share of the index for little recall.
    keep = max(3, n - 1 - allowed_edits(term))
    return list(dict.fromkeys(v for v in out if all(len(p) >= 3 for p in v) and sum(map(len, v)) >= keep))


def _close(term: str, text: str) -> bool:
    if term in text:
        return True
    limit = allowed_edits(term)
    if not limit:
        return False
    for word in text.split():
        if abs(len(word) - len(term)) <= limit and edit_distance(term, word) <= limit:
            return True
        if len(word) > len(term) and edit_distance(term, word[: len(term)]) <= limit:
            return True
    return False


# --- the engines ---------------------------------------------------------------------

@dataclass
class _Spec:
    """Which document and base table: animals or tutors."""

    doc_sqlite: str
    doc_pg: str
    table: str
    alias: str
    second: str  # second text column: "tutor" (animal doc) or "animals" (tutor doc)
    weights: tuple[float, float, float]


ANIMALS = _Spec(idx.ANIMAL_DOC, idx.PG_ANIMAL_DOC, "registry_animal", "a", "tutor", (4.0, 2.0, 1.0))
TUTORS = _Spec(idx.TUTOR_DOC, idx.PG_TUTOR_DOC, "registry_tutor", "t", "animals", (4.0, 2.0, 1.0))


def _short_filters(spec: _Spec, terms: list[Term], col) -> tuple[list[str], list]:
    """E-mail terms: the whole address, in the identifiers (the index was probed with the part
    before "@" only). 1-2 character terms: a word prefix in the names, or a substring of the
    identifiers."""
    where, params = [], []
    for term in terms:
        if term.kind == "email" or (term.kind == "digits" and not term.indexable):
            where.append(f"{col('ident')} LIKE %s ESCAPE '\\'")
            params.append("%" + like_escape(term.text) + "%")
        elif term.kind == "name" and not term.indexable:
            where.append(f"(' ' || {col('name')} || ' ' || {col(spec.second)}) LIKE %s ESCAPE '\\'")
            params.append("% " + like_escape(term.text) + "%")
    return where, params


def _run_index(spec: _Spec, groups: list[list[tuple[str, ...]]], short: list[Term], filters: tuple[str, list],
               limit: int, q_text: str, emails: tuple[Term, ...] = (), always_rank: bool = False) -> list[tuple]:
    """Rows (id, name, second, ident) matching every group (a group matches when one of
    its variants matches; a variant when all its substrings occur), best first.

    A query matching more than BROAD_MATCHES documents (one common surname) would rank tens
    of thousands of rows: the most recently registered come first instead, unless
    `always_rank` (the typo pass ranks its few candidates)."""
    engine = _sqlite_index if connection.vendor == "sqlite" else _pg_index
    count_sql, count_params, ranked, plain = engine(spec, groups, [*short, *emails], filters, q_text)
    broad = False
    if not always_rank:
        with connection.cursor() as cursor:  # how broad? (stops at BROAD_MATCHES + 1 rows)
            cursor.execute(count_sql, [*count_params, BROAD_MATCHES + 1])
            broad = cursor.fetchone()[0] > BROAD_MATCHES
    sql, params = plain if broad else ranked
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        return cursor.fetchall()


def _sqlite_index(spec: _Spec, groups, short: list[Term], filters: tuple[str, list], q_text: str):
    """FTS5 (trigram): one MATCH expression of quoted strings, ranked by bm25."""
    fwhere, fparams = filters
    doc = spec.doc_sqlite
    match = " AND ".join(
        "(" + " OR ".join("(" + " AND ".join(fts_string(p) for p in v) + ")" for v in group) + ")"
        for group in groups)
    swhere, sparams = _short_filters(spec, short, lambda c: f"f.{c}")
    count = f"SELECT count(*) FROM (SELECT 1 FROM {doc} WHERE {doc} MATCH %s LIMIT %s)"
    base = (f"SELECT f.rowid, f.name, f.{spec.second}, f.ident FROM {doc} f "
            f"JOIN {spec.table} {spec.alias} ON {spec.alias}.id = f.rowid "
            f"WHERE {doc} MATCH %s" + "".join(f" AND {x}" for x in fwhere + swhere))
    w = ", ".join(str(x) for x in spec.weights)
    params = [match, *fparams, *sparams]
    return (count, [match],
            (base + f" ORDER BY bm25({doc}, {w}), {spec.alias}.search_name, {spec.alias}.id LIMIT %s", params),
            (base + " ORDER BY f.rowid DESC LIMIT %s", params))


def _pg_index(spec: _Spec, groups, short: list[Term], filters: tuple[str, list], q_text: str):
    """pg_trgm: escaped LIKE patterns (GIN trigram index), ranked by word_similarity."""
    fwhere, fparams = filters
    doc = spec.doc_pg
    where, params = [], []
    for group in groups:
        ors = []
        for v in group:
            ors.append("(" + " AND ".join("s.doc LIKE %s" for _ in v) + ")")
            params.extend("%" + like_escape(p) + "%" for p in v)
        where.append("(" + " OR ".join(ors) + ")")
    swhere, sparams = _short_filters(spec, short, lambda c: f"s.{c}")
    count = f"SELECT count(*) FROM (SELECT 1 FROM {doc} s WHERE " + " AND ".join(where) + " LIMIT %s) x"
    base = (f"SELECT s.id, s.name, s.{spec.second}, s.ident FROM {doc} s "
            f"JOIN {spec.table} {spec.alias} ON {spec.alias}.id = s.id WHERE " + " AND ".join(where + fwhere + swhere))
    a, b, c = spec.weights
    rank = (f"({a} * word_similarity(%s, s.name) + {b} * word_similarity(%s, s.{spec.second})"
            f" + {c} * word_similarity(%s, s.ident)) DESC, {spec.alias}.search_name, {spec.alias}.id")
    plain = [*params, *fparams, *sparams]
    return (count, params,
            (base + f" ORDER BY {rank} LIMIT %s", [*plain, q_text, q_text, q_text]),
            (base + " ORDER BY s.id DESC LIMIT %s", plain))


def _prefix_ids(spec: _Spec, q_text: str, filters: tuple[str, list], limit: int) -> list[tuple]:
    """Only short terms: names that start with the query (B-tree index on search_name)."""
    fwhere, fparams = filters
    alias = spec.alias
    cond, cparams = (_sqlite_prefix if connection.vendor == "sqlite" else _pg_prefix)(q_text)
    where = [cond.format(alias)]
    params = list(cparams)
    if spec is ANIMALS:  # or the tutor's name starts with it
        where = ["(" + where[0] + f" OR {alias}.tutor_id IN (SELECT t.id FROM registry_tutor t WHERE "
                 + cond.format("t") + "))"]
        params += cparams
    sql = (f"SELECT {alias}.id, {alias}.search_name, '', '' FROM {spec.table} {alias} WHERE "
           + " AND ".join(where + fwhere) + f" ORDER BY {alias}.search_name, {alias}.id LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *fparams, limit])
        return cursor.fetchall()


def _sqlite_prefix(q_text: str) -> tuple[str, list]:
    return "{0}.search_name >= %s AND {0}.search_name < %s", [q_text, q_text + "\uffff"]


def _pg_prefix(q_text: str) -> tuple[str, list]:
    return "{0}.search_name LIKE %s ESCAPE '\\'", [like_escape(q_text) + "%"]


@dataclass
class SearchResult:
    q: str
    terms: list[Term]
    ids: list[int] = field(default_factory=list)
    docs: dict[int, tuple] = field(default_factory=dict)
    truncated: bool = False
    approximate: bool = False   # nothing matched exactly: these are the nearest hits
    archived: int = 0           # archived animals that match (when only active ones were searched)
    archived_more: bool = False


def _search(spec: _Spec, q: str, filters: tuple[str, list], limit: int, fuzzy: bool = True) -> SearchResult:
    terms = parse(q)
    result = SearchResult(q=q, terms=terms)
    if not terms:
        return result
    long_terms = [t for t in terms if t.indexable]
    short = [t for t in terms if not t.indexable]
    q_text = " ".join(t.text for t in terms)
    if long_terms:
        rows = _run_index(spec, [[(a,) for a in t.alternatives] for t in long_terms], short, filters,
                          limit + 1, q_text, tuple(t for t in long_terms if t.kind == "email"))
    else:
        rows = _prefix_ids(spec, fold(q), filters, limit + 1)
    result.truncated = len(rows) > limit
    rows = rows[:limit]
    if fuzzy and not rows and any(t.kind == "name" and allowed_edits(t.text) for t in long_terms):
        rows = _fuzzy(spec, long_terms, short, filters, q_text)
        result.approximate = bool(rows)
    result.ids = [r[0] for r in rows]
    result.docs = {r[0]: r[1:] for r in rows}
    return result


def _term_exists(spec: _Spec, text: str) -> bool:
    """Does any document contain `text`? (one index probe, no ranking)"""
    sql, param = (_sqlite_exists if connection.vendor == "sqlite" else _pg_exists)(spec, text)
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        return cursor.fetchone() is not None


def _sqlite_exists(spec: _Spec, text: str) -> tuple[str, str]:
    return f"SELECT 1 FROM {spec.doc_sqlite} WHERE {spec.doc_sqlite} MATCH %s LIMIT 1", fts_string(text)


def _pg_exists(spec: _Spec, text: str) -> tuple[str, str]:
    return f"SELECT 1 FROM {spec.doc_pg} s WHERE s.doc LIKE %s ESCAPE '\\' LIMIT 1", "%" + like_escape(text) + "%"


def _fuzzy(spec: _Spec, long_terms: list[Term], short: list[Term], filters, q_text: str) -> list[tuple]:
    # Only the words found nowhere are taken as typos: the others stay exact, which
    # keeps the candidate set small ("Tohr Silva": every Silva whose animal is near "tohr").
    groups = [typo_variants(t.text) if t.kind == "name" and allowed_edits(t.text) and not _term_exists(spec, t.text)
              else [(a,) for a in t.alternatives] for t in long_terms]
    if all(len(g) == 1 for g in groups):
        return []
    candidates = _run_index(spec, groups, short, filters, FUZZY_CANDIDATES, q_text,
                            tuple(t for t in long_terms if t.kind == "email"), always_rank=True)
    names = [t.text for t in long_terms if t.kind == "name"]
    kept = [r for r in candidates if all(_close(n, f"{r[1]} {r[2]}") for n in names)]
    return kept[:FUZZY_RESULTS]


def animal_filters(species: str, active: str) -> tuple[list[str], list]:
    where, params = [], []
    if active in ("1", "0"):
        where.append("a.is_active = %s")
        params.append(active == "1")
    if species:
        where.append("a.species = %s")
        params.append(species)
    return where, params


def search_animals(q: str, species: str = "", active: str = "1", limit: int | None = None) -> SearchResult:
    limit = limit or MAX_RESULTS
    result = _search(ANIMALS, q, animal_filters(species, active), limit)
    if result.terms and (not result.ids or result.approximate) and active == "1":
        archived = _search(ANIMALS, q, animal_filters(species, "0"), 100, fuzzy=False)  # exact matches only
        result.archived, result.archived_more = len(archived.ids), archived.truncated
    return result


def search_tutors(q: str, limit: int | None = None) -> SearchResult:
    limit = limit or MAX_RESULTS
    return _search(TUTORS, q, ([], []), limit)


# --- why each row matched -------------------------------------------------------------

def _matches(term: Term, value: str) -> bool:
    return any(alt in value for alt in term.alternatives)


def explain_animal(result: SearchResult, animal) -> list[str]:
    t = animal.tutor
    fields = [("nome", fold(animal.name)), ("tutor", fold(t.name)), ("microchip", animal.microchip or ""),
              ("CPF do tutor", t.cpf or ""), ("telefone do tutor", f"{t.phone} {t.phone_secondary}"),
              ("e-mail do tutor", (t.email or "").lower())]
    return _labels(result, fields)


def explain_tutor(result: SearchResult, tutor) -> list[str]:
    doc = result.docs.get(tutor.pk) or ("", "", "")
    fields = [("nome", fold(tutor.name)), ("nome de animal", doc[1] or ""), ("CPF", tutor.cpf or ""),
              ("telefone", f"{tutor.phone} {tutor.phone_secondary}"), ("e-mail", (tutor.email or "").lower())]
    return _labels(result, fields)


def _labels(result: SearchResult, fields) -> list[str]:
    """The fields (in display order) where a term was found; approximate hits say so."""
    labels = []
    for label, value in fields:
        if any(_matches(t, value) for t in result.terms):
            labels.append(label)
        elif result.approximate and any(t.kind == "name" and _close(t.text, value) for t in result.terms):
            labels.append(f"{label} (parecido)")
    return labels


def ordered(model_qs: QuerySet, ids: list[int]) -> list:
    """The rows of `ids`, in that order (one query)."""
    by_id = {obj.pk: obj for obj in model_qs.filter(pk__in=ids).order_by()}
    return [by_id[i] for i in ids if i in by_id]


def animal_queryset(species: str = "", active: str = "1") -> QuerySet:
    """The list without a search (filters only), in name order."""
    qs = Animal.objects.all()
    if active in ("1", "0"):
        qs = qs.filter(is_active=(active == "1"))
    if species:
        qs = qs.filter(species=species)
    return qs.order_by("search_name", "id")


def export_animals(q: str = "", species: str = "", active: str = "1"):
    """Animals (tutor joined) for the CSV export: the search's ranking when there is a query."""
    if not (q or "").strip():
        # iterator(): Django reads 2000 rows per fetch when nothing is prefetched
        yield from animal_queryset(species, active).select_related("tutor", "species").iterator()
        return
    ids = search_animals(q, species, active, EXPORT_MAX_RESULTS).ids
    base = Animal.objects.select_related("tutor", "species")
    for start in range(0, len(ids), EXPORT_BATCH):
        yield from ordered(base, ids[start:start + EXPORT_BATCH])


LIST_FIELDS = ("id", "name", "species", "species__name", "breed", "microchip", "is_active", "deceased", "tutor_id",
               "tutor__id", "tutor__name", "tutor__phone", "tutor__phone_secondary",
               "tutor__cpf", "tutor__email")


def with_list_relations(qs: QuerySet) -> QuerySet:
    """Tutor joined, primary photo prefetched: a constant number of queries.
    Only the columns the list shows are loaded."""
    photos = Photo.objects.filter(is_primary=True).only("id", "photo_id", "animal_id", "status", "is_primary",
                                                          "renditions")
    return qs.select_related("tutor", "species").only(*LIST_FIELDS).prefetch_related(
        Prefetch("photos", queryset=photos, to_attr="primary_photos")
    )


class DeferredJoinPaginator(Paginator):
    """Paginates ids first, then loads only that page's rows with relations.

    * The ids come from an index-only query; up to PROBE_LIMIT of them are read
      in one go, which also gives the count for typical searches (one scan
      instead of COUNT(*) + page).
    * Larger results fall back to COUNT(*) and an OFFSET over the covering index.
    Queries per page: at most probe + count + ids + rows + prefetch, whatever
    the page size.
    """

    PROBE_LIMIT = 5000

    def __init__(self, object_list, per_page, *, load=None, probe=True, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.load = load or (lambda qs: qs)
        self.probe = probe  # off for the unfiltered list: COUNT(*) on the index is cheaper

    @cached_property
    def _probe(self) -> list:
        if not self.probe:
            return []
        return list(self.object_list.values_list("pk", flat=True)[: self.PROBE_LIMIT + 1])

    @cached_property
    def count(self) -> int:
        if self.probe and len(self._probe) <= self.PROBE_LIMIT:
            return len(self._probe)
        return self.object_list.count()

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if top <= len(self._probe):
            ids = self._probe[bottom:top]
        else:
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        if ids:
            model = self.object_list.model
            by_id = {obj.pk: obj for obj in self.load(model.objects.filter(pk__in=ids)).order_by()}
            objects = [by_id[i] for i in ids if i in by_id]
        else:
            objects = []
        return self._get_page(objects, number, self)
