"""Bibliography labels that match the author-year citations of the text.

The text cites as "Scieur et al., 2022" (sphinxcontrib-bibtex's author_year reference
style), but the bibliography page labels its entries with pybtex's default "alpha"
labels ("SBGP22"), which a reader cannot match. This registers a pybtex style,
``course``: the plain "unsrt" formatting, sorted by author and year, with labels
"Scieur et al. 2022", "Bolte et al. 2023", "Banach 1922" (a letter added where two
entries would share a label). Selected by ``bibtex_default_style: course``.
"""
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle


def _last_name(person):
    return " ".join(person.last_names).replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    def format_label(self, entry):
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        if not people:
            names = entry.fields.get("title", entry.key).split(":")[0]
        elif len(people) == 1:
            names = _last_name(people[0])
        elif len(people) == 2:
            names = f"{_last_name(people[0])} and {_last_name(people[1])}"
        else:
            names = f"{_last_name(people[0])} et al."
        return f"{names} {entry.fields.get('year', '')}".strip()

    def format_labels(self, sorted_entries):
        labels = [self.format_label(entry) for entry in sorted_entries]
        count, seen = Counter(labels), Counter()
        for label in labels:
            if count[label] == 1:
                yield label
            else:
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label]]
                seen[label] += 1


class CourseStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = SortingStyle


def setup(app):
    register_plugin("pybtex.style.formatting", "course", CourseStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
