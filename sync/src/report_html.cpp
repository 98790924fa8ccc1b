// The HTML report: one self-contained page with charts, a bounded sample of
// the operations and the diagnostics, for people reviewing a large plan.
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "idsync/sync/report.h"
#include "report_internal.h"

namespace idsync::sync {
namespace {

using report_internal::CountFailed;
using report_internal::OuLabel;
using report_internal::ResultOf;

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// The HTML report must stay usable for plans of a million operations: a
// browser chokes on a table of 10^6 rows long before the file is written.
// So the page embeds a bounded sample as JSON and pages and filters it with
// a little inline script; the CSV and JSON reports carry every operation.
constexpr size_t kHtmlMaxEmbedded = 50'000;      // changes + skipped in the page
constexpr size_t kHtmlFirstPage = 100;           // rows also rendered as HTML
constexpr size_t kHtmlMaxDiagnosticRows = 5'000; // conflicts, invalid records each

// Appends s as a JSON string literal that is also safe inside <script>:
// '<', '>' and '&' are \u-escaped so that no "</script>" or "<!--" can
// appear in the data, whatever the source holds.
void AppendScriptJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// "field: old → new; field: new; 3 member(s)", the changes cell.
std::string HtmlChangesCell(const Operation& op) {
  std::string out;
  for (const auto& c : op.changes) {
    if (!out.empty()) out += "; ";
    out += c.field + ": ";
    if (!c.old_value.empty()) out += c.old_value + " \u2192 ";
    out += c.new_value;
  }
  if (!op.refs.empty()) {
    if (!out.empty()) out += "; ";
    out += std::to_string(op.refs.size()) +
           (op.entity == EntityType::kGroup ? " member(s)" : " OU(s)");
  }
  return out;
}

// One operation as the page shows it: planned, skipped, or its apply result.
struct HtmlRow {
  const Operation* op = nullptr;
  const std::string* skip_reason = nullptr;  // set for skipped operations
};

std::string HtmlRowStatus(const ReportInput& in, const HtmlRow& row, bool* alarming) {
  if (row.skip_reason != nullptr) {
    *alarming = true;
    return "skipped: " + *row.skip_reason;
  }
  *alarming = false;
  if (!in.applied) return "planned";
  const OpResult* r = ResultOf(in, *row.op);
  auto s = r ? r->status : OpResult::Status::kNotRun;
  *alarming = s == OpResult::Status::kFailed;
  std::string text = s == OpResult::Status::kNotRun ? "not run" : OpResultStatusName(s);
  if (r && !r->error.empty()) text += ": " + r->error;
  return text;
}

// Which rows the page embeds, at most `budget`, in report order (changes,
// then skipped). Rows are grouped by (failed, skipped, kind); failed groups
// are filled first, then every other group gets an equal share of what is
// left, a group needing less than its share leaving the rest to the others
// (water-filling). So a page that cannot list 900,000 creates still lists
// every disable and every failure. Linear in the plan.
std::vector<HtmlRow> HtmlSample(const ReportInput& in, size_t budget) {
  const Plan& p = *in.plan;
  auto group_of = [&](const Operation& op, bool skipped) {
    bool failed = false;
    if (in.applied && !skipped) {
      const OpResult* r = ResultOf(in, op);
      failed = r && r->status == OpResult::Status::kFailed;
    }
    return (failed ? 0 : 512) + (skipped ? 256 : 0) + static_cast<int>(op.kind);
  };
  constexpr int kGroups = 1024;
  std::vector<size_t> count(kGroups, 0), quota(kGroups, 0);
  std::vector<int> group(p.operations.size() + p.skipped.size());
  size_t i = 0;
  for (const auto& op : p.operations) ++count[group[i++] = group_of(op, false)];
  for (const auto& s : p.skipped) ++count[group[i++] = group_of(s.op, true)];

  auto fill = [&](int first, int last) {  // groups [first, last)
    std::vector<int> ids;
    for (int g = first; g < last; ++g) {
      if (count[g] > 0) ids.push_back(g);
    }
    std::sort(ids.begin(), ids.end(), [&](int a, int b) { return count[a] < count[b]; });
    for (size_t k = 0; k < ids.size(); ++k) {
      size_t share = budget / (ids.size() - k);
      quota[ids[k]] = std::min(count[ids[k]], share);
      budget -= quota[ids[k]];
    }
  };
  fill(0, 512);  // failed operations first
  fill(512, kGroups);

  std::vector<HtmlRow> rows;
  i = 0;
  for (const auto& op : p.operations) {
    int g = group[i++];
    if (quota[g] > 0) {
      --quota[g];
      rows.push_back({&op, nullptr});
    }
  }
  for (const auto& s : p.skipped) {
    int g = group[i++];
    if (quota[g] > 0) {
      --quota[g];
      rows.push_back({&s.op, &s.reason});
    }
  }
  return rows;
}

// The paging and filtering of the operations table: vanilla JS over the
// embedded JSON, building cells with textContent (never innerHTML), so the
// data cannot inject markup.
constexpr char kHtmlOpsScript[] = R"JS(<script>
(function () {
  var d = JSON.parse(document.getElementById('ops-data').textContent);
  var rows = d.rows, kinds = d.kinds;
  function $(id) { return document.getElementById(id); }
  var sec = $('f-section'), kind = $('f-kind'), text = $('f-text'), size = $('f-size');
  var prev = $('f-prev'), next = $('f-next'), info = $('f-info');
  var body = document.querySelector('#ops tbody');
  var match = null, page = 0, hay = null;
  function filter() {
    var s = sec.value, k = kind.value, t = text.value.trim().toLowerCase();
    if (t && !hay) {
      hay = rows.map(function (r) { return r.slice(2, 9).join('\n').toLowerCase(); });
    }
    match = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (s !== '' && r[0] !== +s) continue;
      if (k !== '' && r[1] !== +k) continue;
      if (t && hay[i].indexOf(t) < 0) continue;
      match.push(i);
    }
    page = 0;
    draw();
  }
  function cell(tr, v, cls) {
    var td = document.createElement('td');
    td.textContent = v;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  function draw() {
    var n = +size.value, from = page * n, to = Math.min(match.length, from + n);
    var frag = document.createDocumentFragment();
    for (var j = from; j < to; j++) {
      var r = rows[match[j]], tr = document.createElement('tr');
      cell(tr, String(match[j] + 1), 'num');
      cell(tr, kinds[r[1]]);
      for (var c = 2; c < 8; c++) cell(tr, r[c], c === 6 ? 'chg' : '');
      cell(tr, r[8], r[9] ? 'tripped' : 'ok');
      frag.appendChild(tr);
    }
    body.textContent = '';
    body.appendChild(frag);
    info.textContent = match.length === 0 ? 'no matching rows' :
        'rows ' + (from + 1) + '\u2013' + to + ' of ' + match.length +
        (match.length < rows.length ? ' matching' : '');
    prev.disabled = page === 0;
    next.disabled = to >= match.length;
  }
  var timer = null;
  text.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(filter, 150);
  });
  sec.addEventListener('change', filter);
  kind.addEventListener('change', filter);
  size.addEventListener('change', function () { page = 0; draw(); });
  prev.addEventListener('click', function () { page--; draw(); });
  next.addEventListener('click', function () { page++; draw(); });
  $('ops-controls').hidden = false;
  filter();
})();
</script>
)JS";

}  // namespace

std::string RenderHtml(const ReportInput& in) {
  const Plan& p = *in.plan;
  const std::vector<HtmlRow> sample = HtmlSample(in, kHtmlMaxEmbedded);
  const size_t all_rows = p.operations.size() + p.skipped.size();
  const size_t left_out = all_rows - sample.size();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>idsync "
    << (in.applied ? "apply" : "plan") << " report</title><style>"
       "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2328}"
       "h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de}"
       "table{border-collapse:collapse;width:100%;margin:.5rem 0}"
       "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
       "th{background:#f6f8fa}.tripped{color:#cf222e;font-weight:600}.ok{color:#1a7f37}"
       ".cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;"
       "border-radius:6px;padding:.6rem 1rem;min-width:8rem}.card b{display:block;font-size:1.4rem}"
       ".bar{fill:#0969da}.bar.del{fill:#cf222e}.bar.add{fill:#1a7f37}svg text{font-size:12px}"
       ".charts{display:flex;gap:2rem;flex-wrap:wrap}"
       ".note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5rem 1rem}"
       ".controls{display:flex;gap:1rem;flex-wrap:wrap;align-items:center;margin:.5rem 0}"
       "td.num{color:#656d76;text-align:right}td.chg{word-break:break-word;max-width:40rem}"
       "code{background:#f6f8fa;padding:0 3px}</style></head><body>\n";
  h << "<h1>idsync " << (in.applied ? "apply" : "plan") << " report</h1>\n<p>"
    << HtmlEscape(in.generated_at) << " &middot; source <code>" << HtmlEscape(in.source)
    << "</code> &middot; status <b>" << HtmlEscape(ReportStatus(in)) << "</b> (exit "
    << in.exit_code << ")</p>\n";
  h << "<div class=\"cards\">";
  auto card = [&](const std::string& label, int64_t n) {
    h << "<div class=\"card\"><b>" << n << "</b>" << HtmlEscape(label) << "</div>";
  };
  card("operations", static_cast<int64_t>(p.operations.size()));
  card("API writes", p.ApiWrites());
  if (in.applied) card("failed", CountFailed(in));
  card("skipped", static_cast<int64_t>(p.skipped.size()));
  card("conflicts", static_cast<int64_t>(p.conflicts.size()));
  card("invalid records", static_cast<int64_t>(p.invalid.size()));
  card("source users", p.source_users);
  card("managed users", p.managed_users);
  h << "</div>\n";
  if (left_out > 0) {
    h << "<p class=\"note\" id=\"left-out\" data-left-out=\"" << left_out << "\">This page lists "
      << sample.size() << " of " << all_rows << " operations (changes and skipped); <b>"
      << left_out << " operations are left out</b> to keep it small enough for a browser. "
         "Every kind keeps a share of the rows (failures first). The complete list is in the "
         "CSV and JSON reports of the same plan: <code>idsync "
      << (in.applied ? "apply" : "plan") << " --format csv -o report.csv</code> or <code>--format "
         "json</code>.</p>\n";
  }

  // Bar charts as inline SVG: no external assets.
  auto chart = [&](const std::string& title, const std::vector<std::pair<std::string, int64_t>>& rows,
                   bool color_by_kind) {
    h << "<div><h2>" << HtmlEscape(title) << "</h2>\n";
    if (rows.empty()) {
      h << "<p>Nothing.</p></div>\n";
      return;
    }
    int64_t max = 1;
    for (const auto& r : rows) max = std::max(max, r.second);
    // Compact, so that two charts fit side by side in a 1400 px window and
    // the operations table is not pushed far below the fold.
    const int bar_h = 14, gap = 4, label_w = 200, width = 300;
    int height = static_cast<int>(rows.size()) * (bar_h + gap);
    h << "<svg role=\"img\" width=\"" << width + label_w + 70 << "\" height=\"" << height
      << "\" xmlns=\"http://www.w3.org/2000/svg\">";
    int y = 0;
    for (const auto& row : rows) {
      // Not a structured binding: lambdas below capture it (C++20 allows
      // that, clang 14 of the fuzz build does not).
      const auto& label = row.first;
      const auto& n = row.second;
      int w = static_cast<int>(static_cast<double>(n) / static_cast<double>(max) * width);
      std::string cls = "bar";
      if (color_by_kind) {
        auto has = [&](const char* word) { return label.find(word) != std::string::npos; };
        if (has("delete") || has("disable") || has("remove") || has("failed") || has("skipped")) {
          cls += " del";
        } else if (has("create") || has("add") || label == "done") {
          cls += " add";
        }
      }
      h << "<text x=\"0\" y=\"" << y + 11 << "\">" << HtmlEscape(label) << "</text><rect class=\""
        << cls << "\" x=\"" << label_w << "\" y=\"" << y << "\" width=\"" << std::max(w, 1)
        << "\" height=\"" << bar_h << "\"/><text x=\"" << label_w + std::max(w, 1) + 6
        << "\" y=\"" << y + 11 << "\">" << n << "</text>";
      y += bar_h + gap;
    }
    h << "</svg></div>\n";
  };
  h << "<div class=\"charts\">\n";
  std::vector<std::pair<std::string, int64_t>> by_kind;
  for (const auto& [k, n] : p.CountsByKind()) by_kind.emplace_back(k, n);
  chart("Operations by kind", by_kind, true);
  // Counted per OU reference (key, else id), not per name: departments of
  // the same name under different parents ("Team1" in every division) are
  // different OUs. Names are looked up once per OU, not per operation.
  struct OuCount {
    const ObjectRef* ref = nullptr;
    int64_t n = 0;
  };
  std::unordered_map<std::string_view, OuCount> by_ref;
  int64_t group_ops = 0;
  for (const auto& op : p.operations) {
    if (op.entity == EntityType::kGroup) {
      ++group_ops;
      continue;
    }
    const ObjectRef& ref = op.entity == EntityType::kOu ? op.target : op.ou;
    OuCount& c = by_ref[ref.key.empty() ? std::string_view(ref.id) : std::string_view(ref.key)];
    if (c.ref == nullptr) c.ref = &ref;
    ++c.n;
  }
  std::vector<std::pair<std::string, int64_t>> by_ou;
  std::unordered_map<std::string, int> name_uses;
  for (const auto& [key, c] : by_ref) {
    std::string name = key.empty() ? "(no OU)" : OuLabel(p, *c.ref);
    ++name_uses[name];
    by_ou.emplace_back(std::move(name), c.n);
  }
  size_t i = 0;
  for (const auto& [key, c] : by_ref) {  // the same order as above
    std::string& label = by_ou[i++].first;
    if (name_uses[label] > 1 && !key.empty() && key != label) {
      label += " (" + std::string(key) + ")";
    }
  }
  if (group_ops > 0) by_ou.emplace_back("(groups)", group_ops);
  std::sort(by_ou.begin(), by_ou.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (by_ou.size() > 25) by_ou.resize(25);
  chart("Operations by OU (top 25)", by_ou, false);
  if (in.applied) {
    int64_t done = 0, failed = 0;
    for (const auto& [id, r] : in.results) {
      done += r.status == OpResult::Status::kDone;
      failed += r.status == OpResult::Status::kFailed;
    }
    const int64_t not_run = static_cast<int64_t>(p.operations.size()) - done - failed;
    chart("Results",
          {{"done", done},
           {"failed", failed},
           {"not run", std::max<int64_t>(not_run, 0)},
           {"skipped", static_cast<int64_t>(p.skipped.size())}},
          true);
  }
  h << "</div>\n";

  h << "<h2>Guards</h2>\n<table><tr><th>guard</th><th>verdict</th><th>value</th><th>limit</th>"
       "<th>detail</th></tr>\n";
  for (const auto& g : p.guards) {
    h << "<tr><td>" << HtmlEscape(g.name) << "</td><td class=\"" << (g.tripped ? "tripped" : "ok")
      << "\">" << (g.tripped ? "TRIPPED" : "ok") << "</td><td>" << g.value << "</td><td>" << g.limit
      << "</td><td>" << HtmlEscape(g.message) << "</td></tr>\n";
  }
  h << "</table>\n";

  // The operations: one table over changes and skipped operations. The
  // first page is plain HTML (readable without scripts and in print); the
  // script replaces it with pages of the embedded rows.
  h << "<h2>Operations (" << p.operations.size() << " changes, " << p.skipped.size()
    << " skipped";
  if (left_out > 0) h << "; " << sample.size() << " in this page";
  h << ")</h2>\n";
  if (sample.empty()) {
    h << "<p>None.</p>\n";
  } else {
    // Kinds present, with counts in the plan and in the page, for the filter.
    std::vector<int64_t> in_plan(256, 0), in_page(256, 0);
    for (const auto& op : p.operations) ++in_plan[static_cast<int>(op.kind)];
    for (const auto& s : p.skipped) ++in_plan[static_cast<int>(s.op.kind)];
    for (const auto& r : sample) ++in_page[static_cast<int>(r.op->kind)];
    h << "<div class=\"controls\" id=\"ops-controls\" hidden>"
         "<label>Show <select id=\"f-section\"><option value=\"\">changes and skipped</option>"
         "<option value=\"0\">changes</option><option value=\"1\">skipped</option></select></label>"
         "<label>Kind <select id=\"f-kind\"><option value=\"\">all kinds</option>";
    for (int k = 0; k < 256; ++k) {
      if (in_plan[k] == 0) continue;
      h << "<option value=\"" << k << "\">" << OpKindName(static_cast<OpKind>(k)) << " ("
        << in_page[k];
      if (in_page[k] != in_plan[k]) h << " of " << in_plan[k];
      h << ")</option>";
    }
    h << "</select></label><label>Search <input id=\"f-text\" type=\"search\" size=\"28\" "
         "placeholder=\"name, key, id, OU, change, error\"></label>"
         "<label>Rows <select id=\"f-size\"><option>50</option><option selected>100</option>"
         "<option>500</option></select></label>"
         "<button id=\"f-prev\">&larr; previous</button><span id=\"f-info\"></span>"
         "<button id=\"f-next\">next &rarr;</button></div>\n";
    h << "<table id=\"ops\"><thead><tr><th>#</th><th>operation</th><th>name</th><th>source key</th>"
         "<th>IDaaS id</th><th>OU</th><th>changes</th><th>reason</th><th>status</th></tr></thead>"
         "<tbody>\n";
    // Rows as JSON arrays: [skipped, kind, name, key, id, OU, changes,
    // reason, status, alarming]. Built once; the first page reuses the cells.
    std::string data = "{\"kinds\":[";
    for (int k = 0; k < 256; ++k) {
      if (k > 0) data += ',';
      if (in_plan[k] == 0) {
        data += "\"\"";
      } else {
        AppendScriptJsonString(&data, OpKindName(static_cast<OpKind>(k)));
      }
    }
    data += "],\"rows\":[";
    data.reserve(data.size() + sample.size() * 200);
    for (size_t i = 0; i < sample.size(); ++i) {
      const HtmlRow& row = sample[i];
      const Operation& op = *row.op;
      bool alarming = false;
      const std::string cells[] = {op.display,        op.target.key,
                                   op.target.id,      OuLabel(p, op.ou),
                                   HtmlChangesCell(op), op.reason,
                                   HtmlRowStatus(in, row, &alarming)};
      if (i > 0) data += ',';
      data += row.skip_reason ? "[1," : "[0,";
      data += std::to_string(static_cast<int>(op.kind));
      for (const auto& c : cells) {
        data += ',';
        AppendScriptJsonString(&data, c);
      }
      data += alarming ? ",1]" : ",0]";
      if (i < kHtmlFirstPage) {
        h << "<tr><td class=\"num\">" << i + 1 << "</td><td>" << OpKindName(op.kind) << "</td>";
        for (size_t c = 0; c < 6; ++c) {
          h << "<td" << (c == 4 ? " class=\"chg\"" : "") << ">" << HtmlEscape(cells[c]) << "</td>";
        }
        h << "<td class=\"" << (alarming ? "tripped" : "ok") << "\">" << HtmlEscape(cells[6])
          << "</td></tr>\n";
      }
    }
    data += "]}";
    h << "</tbody></table>\n";
    if (sample.size() > kHtmlFirstPage) {
      h << "<noscript><p>Without JavaScript only the first " << kHtmlFirstPage
        << " rows are shown; the CSV and JSON reports list every operation.</p></noscript>\n";
    }
    h << "<script type=\"application/json\" id=\"ops-data\">" << data << "</script>\n"
      << kHtmlOpsScript;
  }

  h << "<h2>Conflicts (" << p.conflicts.size() << ")</h2>\n";
  if (p.conflicts.empty()) {
    h << "<p>None.</p>\n";
  } else {
    h << "<table><tr><th>kind</th><th>source key</th><th>where</th><th>IDaaS ids</th>"
         "<th>what to do</th></tr>\n";
    const size_t shown = std::min(p.conflicts.size(), kHtmlMaxDiagnosticRows);
    for (size_t i = 0; i < shown; ++i) {
      const Conflict& c = p.conflicts[i];
      std::string ids;
      for (const auto& id : c.ids) ids += (ids.empty() ? "" : ", ") + id;
      h << "<tr><td>" << ConflictKindName(c.kind) << "</td><td>" << HtmlEscape(c.key) << "</td><td>"
        << HtmlEscape(c.origin.ToString()) << "</td><td>" << HtmlEscape(ids) << "</td><td>"
        << HtmlEscape(c.message) << "</td></tr>\n";
    }
    h << "</table>\n";
    if (shown < p.conflicts.size()) {
      h << "<p class=\"note\">" << p.conflicts.size() - shown
        << " more conflicts are left out of this page; the JSON and text reports list them "
           "all.</p>\n";
    }
  }
  h << "<h2>Invalid records (" << p.invalid.size() << ")</h2>\n";
  if (p.invalid.empty()) {
    h << "<p>None.</p>\n";
  } else {
    h << "<table><tr><th>where</th><th>source key</th><th>field</th><th>reason</th></tr>\n";
    const size_t shown = std::min(p.invalid.size(), kHtmlMaxDiagnosticRows);
    for (size_t i = 0; i < shown; ++i) {
      const auto& d = p.invalid[i];
      h << "<tr><td>" << HtmlEscape(d.origin.ToString()) << "</td><td>" << HtmlEscape(d.key)
        << "</td><td>" << HtmlEscape(d.field) << "</td><td>" << HtmlEscape(d.reason) << "</td></tr>\n";
    }
    h << "</table>\n";
    if (shown < p.invalid.size()) {
      h << "<p class=\"note\">" << p.invalid.size() - shown
        << " more invalid records are left out of this page; the JSON and text reports list "
           "them all.</p>\n";
    }
  }
  h << "<p>idsync " << HtmlEscape(in.version) << " &middot; schema " << kReportSchema
    << "</p>\n</body></html>\n";
  return h.str();
}

}  // namespace idsync::sync
