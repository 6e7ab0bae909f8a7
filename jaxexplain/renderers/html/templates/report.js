/* jaxexplain report pages: draws the jaxpr from the page's JSON block and links it to the source.
 *
 * Only the rows in view are in the DOM once a jaxpr has more than EAGER rows, so a 100,000-line
 * jaxpr costs the same to show as a small one. A page holds one report, or several (a watch page
 * embeds a trace and a diff report per explained compilation): each report's panes have element
 * ids that start with its scope, and a report inside a closed <details> is drawn when it opens.
 * A URL hash "#test:action=value&..." performs interactions on load and writes what the page then
 * shows into the hidden element #jx-test, so that a headless browser's --dump-dom can check them
 * (tests/test_renderers_html_*.py).
 */
(function () {
  "use strict";
  var ROW = 18; // px: the CSS variable --row
  var EAGER = 1000; // up to this many rows, draw them all (the browser's own find works)
  var OVERSCAN = 30;
  var SEARCH_DELAY_MS = 120;

  var data = JSON.parse(document.getElementById("jx-data").textContent);
  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

  function esc(text) {
    return text.replace(/[&<>"]/g, function (c) { return ESCAPES[c]; });
  }

  function byId(id) {
    return document.getElementById(id);
  }

  /* Highlighted HTML of line i of a lexed block {lines, tok, cls}; `ranges` marks search hits. */
  function codeHtml(block, i, ranges) {
    var text = block.lines[i];
    var tok = block.tok[i];
    var out = "";
    var pos = 0;
    for (var k = 0; k < tok.length; k += 2) {
      var end = pos + tok[k];
      var cls = block.cls[tok[k + 1]];
      var piece = ranges && ranges.length ? marked(text, pos, end, ranges) : esc(text.slice(pos, end));
      out += cls ? '<span class="' + cls + '">' + piece + "</span>" : piece;
      pos = end;
    }
    return out;
  }

  function marked(text, start, end, ranges) {
    var out = "";
    var p = start;
    for (var r = 0; r < ranges.length; r += 2) {
      var a = Math.max(ranges[r], p);
      var b = Math.min(ranges[r + 1], end);
      if (a >= b) continue;
      out += esc(text.slice(p, a)) + "<mark>" + esc(text.slice(a, b)) + "</mark>";
      p = b;
    }
    return out + esc(text.slice(p, end));
  }

  /* Rows of fixed height in a scroll box: all of them up to EAGER, else only those in view. */
  function VirtualList(scroll, spacer, rows, rowHtml) {
    var items = new Int32Array(0);
    var list = {
      setItems: function (next) {
        items = next;
        spacer.style.height = items.length * ROW + "px";
        list.draw();
      },
      draw: function () {
        var m = items.length;
        var first = 0;
        var last = m;
        if (m > EAGER) {
          first = Math.max(0, Math.floor(scroll.scrollTop / ROW) - OVERSCAN);
          last = Math.min(m, Math.ceil((scroll.scrollTop + scroll.clientHeight) / ROW) + OVERSCAN);
        }
        var out = [];
        for (var r = first; r < last; r++) out.push(rowHtml(items[r]));
        rows.style.transform = "translateY(" + first * ROW + "px)";
        rows.innerHTML = out.join("");
      },
      count: function () { return items.length; },
      /* The item at the middle of the view. */
      middle: function () {
        if (!items.length) return 0;
        return items[Math.min(items.length - 1, Math.floor((scroll.scrollTop + scroll.clientHeight / 2 - ROW) / ROW))];
      },
      centerRow: function (r) {
        scroll.scrollTop = Math.max(0, r * ROW - scroll.clientHeight / 2 + ROW);
        list.draw();
      }
    };
    scroll.addEventListener("scroll", function () {
      if (items.length > EAGER) list.draw();
    });
    return list;
  }

  /* ------------------------------------------------------------------ the jaxpr view */

  function JaxprView(jx, scope) {
    var scroll = byId(scope + "jx-scroll");
    var spacer = byId(scope + "jx-spacer");
    var rows = byId(scope + "jx-rows");
    var status = byId(scope + "jx-status");
    var input = byId(scope + "jx-search");
    var n = jx.lines.length;
    var foldEnd = new Int32Array(n).fill(-1);
    var foldDepth = new Int32Array(n);
    var folds = [];
    for (var k = 0; k < jx.folds.length; k += 3) {
      foldEnd[jx.folds[k]] = jx.folds[k + 1];
      foldDepth[jx.folds[k]] = jx.folds[k + 2];
      folds.push(jx.folds[k]);
    }
    var collapsed = new Set();
    var list = VirtualList(scroll, spacer, rows, rowHtml);
    var rowOf = new Int32Array(n);
    var active = -1;
    var query = "";
    var lower = null;
    var matches = [];
    var current = -1;
    var currentLine = -1;
    var blocks = {};
    var searchTimer = 0;
    var view = { active: -1 };

    spacer.style.minWidth = "calc(" + (jx.width + 19) + "ch + 8px)";

    function rebuild() {
      var vis = new Int32Array(n);
      var m = 0;
      rowOf.fill(-1);
      for (var i = 0; i < n; ) {
        rowOf[i] = m;
        vis[m++] = i;
        i = collapsed.has(i) ? foldEnd[i] : i + 1;
      }
      list.setItems(vis.subarray(0, m));
    }

    function rowHtml(i) {
      var s = jx.src[i];
      var cls = "jr";
      var style = "";
      var label = '<span class="lbl"></span>';
      if (s >= 0) {
        cls += s === active ? " linked on" : " linked";
        style = ' style="--c:hsl(' + jx.hue[s] + ' 65% 62%)"';
        var name = jx.labels[s];
        var colon = name.lastIndexOf(":");
        label = '<span class="lbl" title="' + esc(jx.srcs[s]) + '"><span class="lf">' + esc(name.slice(0, colon)) +
          "</span>" + esc(name.slice(colon)) + "</span>";
      }
      if (i === currentLine) cls += " cur";
      var fold = '<span class="fold"></span>';
      var more = "";
      if (foldEnd[i] >= 0) {
        var closed = collapsed.has(i);
        fold = '<span class="fold" data-fold="' + i + '" title="fold or unfold">' + (closed ? "\u25B8" : "\u25BE") + "</span>";
        if (closed) more = '<span class="more" data-fold="' + i + '">\u22EF ' + (foldEnd[i] - i - 1) + " lines</span>";
      }
      var lib = jx.lib && jx.lib[i] >= 0 ? '<span class="lib">  # ' + esc(jx.libs[jx.lib[i]]) + "</span>" : "";
      return '<div class="' + cls + '" data-i="' + i + '"' + style + '><span class="gut">' + fold + label +
        '</span><span class="t">' + codeHtml(jx, i, query ? matchRanges(i) : null) + lib + more + "</span></div>";
    }

    function matchRanges(i) {
      var ranges = [];
      var hay = lowerLine(i);
      for (var at = hay.indexOf(query); at >= 0; at = hay.indexOf(query, at + query.length)) {
        ranges.push(at, at + query.length);
      }
      return ranges;
    }

    function lowerLine(i) {
      if (lower === null) lower = jx.lines.map(function (t) { return t.toLowerCase(); });
      return lower[i];
    }

    /* Unfolds whatever hides line i, then scrolls it to the middle of the pane. */
    function reveal(i) {
      var changed = false;
      collapsed.forEach(function (start) {
        if (start < i && i < foldEnd[start]) {
          collapsed.delete(start);
          changed = true;
        }
      });
      if (changed) rebuild();
      list.centerRow(rowOf[i]);
    }

    function toggle(i) {
      var offset = rowOf[i] * ROW - scroll.scrollTop;
      if (collapsed.has(i)) collapsed.delete(i);
      else collapsed.add(i);
      rebuild();
      scroll.scrollTop = rowOf[i] * ROW - offset;
      list.draw();
    }

    /* Folds every block except the outermost jaxpr, so the top-level equations read as a list. */
    function foldAll() {
      var main = -1;
      folds.forEach(function (s) {
        if (foldDepth[s] === 0 && (main < 0 || foldEnd[s] - s > foldEnd[main] - main)) main = s;
      });
      folds.forEach(function (s) { if (s !== main) collapsed.add(s); });
      rebuild();
    }

    function unfoldAll() {
      collapsed.clear();
      rebuild();
    }

    function search(text) {
      clearTimeout(searchTimer);
      query = text.toLowerCase();
      matches = [];
      if (query) {
        for (var i = 0; i < n; i++) if (lowerLine(i).indexOf(query) >= 0) matches.push(i);
      }
      current = -1;
      currentLine = -1;
      if (matches.length) go(0);
      else {
        status.textContent = query ? "no match" : "";
        list.draw();
      }
    }

    function go(k) {
      current = (k + matches.length) % matches.length;
      currentLine = matches[current];
      status.textContent = current + 1 + " / " + matches.length;
      reveal(currentLine);
    }

    /* The runs of consecutive rows a source line produced, each run's first row. */
    function blocksOf(s) {
      if (!blocks[s]) {
        var starts = [];
        for (var i = 0; i < n; i++) if (jx.src[i] === s && (i === 0 || jx.src[i - 1] !== s)) starts.push(i);
        blocks[s] = starts;
      }
      return blocks[s];
    }

    /* Scrolls to the next place source s produced equations; repeated calls walk through them. */
    function jumpTo(s) {
      var starts = blocksOf(s);
      if (!starts.length) return;
      var top = list.middle();
      var k = 0;
      while (k < starts.length && starts[k] <= top) k++;
      if (view.lastJump !== s) k = 0;
      var line = starts[k % starts.length];
      view.lastJump = s;
      currentLine = -1;
      reveal(line);
      status.textContent = jx.labels[s] + ": " + ((k % starts.length) + 1) + " / " + starts.length;
    }

    function setActive(s) {
      active = s;
      view.active = s;
      var children = rows.children;
      for (var c = 0; c < children.length; c++) {
        var el = children[c];
        el.classList.toggle("on", s >= 0 && jx.src[+el.dataset.i] === s);
      }
    }

    function rowAt(target) {
      var el = target.closest ? target.closest(".jr") : null;
      return el ? +el.dataset.i : -1;
    }

    input.addEventListener("input", function () {
      clearTimeout(searchTimer);
      var text = input.value;
      searchTimer = setTimeout(function () { search(text); }, n > EAGER ? SEARCH_DELAY_MS : 0);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      if (input.value.toLowerCase() !== query) search(input.value);
      else if (matches.length) go(current + (event.shiftKey ? -1 : 1));
    });
    byId(scope + "jx-next").addEventListener("click", function () { if (matches.length) go(current + 1); });
    byId(scope + "jx-prev").addEventListener("click", function () { if (matches.length) go(current - 1); });
    byId(scope + "jx-copy").addEventListener("click", function () {
      var text = jx.lines.join("\n");
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(function () { status.textContent = "copied"; });
    });
    byId(scope + "jx-collapse").addEventListener("click", foldAll);
    byId(scope + "jx-expand").addEventListener("click", unfoldAll);
    rows.addEventListener("click", function (event) {
      var fold = event.target.closest("[data-fold]");
      if (fold) {
        event.stopPropagation();
        toggle(+fold.dataset.fold);
      }
    });

    rebuild();
    view.reveal = reveal;
    view.jumpTo = jumpTo;
    view.setActive = setActive;
    view.rowAt = rowAt;
    view.rows = rows;
    view.scroll = scroll;
    view.status = status;
    view.input = input;
    view.srcOf = function (i) { return jx.src[i]; };
    view.visibleCount = list.count;
    view.currentLine = function () { return currentLine; };
    return view;
  }

  /* ------------------------------------------------------------------ source <-> jaxpr links */

  /* Links a report's source lines (inside `root`) to its jaxpr view, either of which may be missing. */
  function linkSource(view, jx, root, scope) {
    var srcScroll = byId(scope + "src-scroll");
    var ids = new Map();
    if (jx) jx.srcs.forEach(function (s, i) { ids.set(s, i); });
    var sourceRows = Array.prototype.slice.call(root.querySelectorAll(".sl"));
    var rowById = new Map();
    sourceRows.forEach(function (el) {
      var id = ids.has(el.dataset.src) ? ids.get(el.dataset.src) : -1;
      el.dataset.id = id;
      if (id >= 0 && !rowById.has(id)) rowById.set(id, el);
    });
    var pinned = -1;

    function show(s) {
      root.classList.toggle("linking", s >= 0);
      root.classList.toggle("pinned", s >= 0 && s === pinned);
      sourceRows.forEach(function (el) { el.classList.toggle("on", s >= 0 && +el.dataset.id === s); });
      if (view) view.setActive(s);
    }

    function scrollSourceTo(s) {
      var el = rowById.get(s);
      if (!el || !srcScroll) return;
      srcScroll.scrollTop = Math.max(0, el.offsetTop - srcScroll.clientHeight / 2);
    }

    function pin(s) {
      pinned = s;
      show(s);
    }

    if (srcScroll) {
      srcScroll.addEventListener("mouseover", function (event) {
        var el = event.target.closest(".sl");
        var s = el ? +el.dataset.id : -1;
        show(s >= 0 ? s : pinned);
      });
      srcScroll.addEventListener("mouseleave", function () { show(pinned); });
      srcScroll.addEventListener("click", function (event) {
        var el = event.target.closest(".sl");
        var s = el ? +el.dataset.id : -1;
        pin(s);
        if (s >= 0 && view) view.jumpTo(s);
      });
    }
    if (view) {
      view.rows.addEventListener("mouseover", function (event) {
        var i = view.rowAt(event.target);
        var s = i >= 0 ? view.srcOf(i) : -1;
        show(s >= 0 ? s : pinned);
      });
      view.rows.addEventListener("mouseleave", function () { show(pinned); });
      view.rows.addEventListener("click", function (event) {
        if (event.target.closest("[data-fold]")) return;
        var i = view.rowAt(event.target);
        var s = i >= 0 ? view.srcOf(i) : -1;
        pin(s);
        if (s >= 0) scrollSourceTo(s);
      });
    }
    return { pinned: function () { return pinned; }, unpin: function () { pin(-1); } };
  }

  /* ------------------------------------------------------------------ the jaxpr diff, side by side */

  var CHANGED = 1;
  var HUNK = 4; // row kinds, as html_diff.py writes them
  var SIDES = [["", ""], ["chg", "chg"], ["del", "gap"], ["gap", "ins"]];

  function DiffView(dx, scope) {
    var scroll = byId(scope + "dx-scroll");
    var rows = byId(scope + "dx-rows");
    var status = byId(scope + "dx-status");
    var spacer = byId(scope + "dx-spacer");
    var R = dx.rows;
    var count = R.length / 5;
    var hunks = [];
    for (var r = 0; r < count; r++) if (R[r * 5 + 2] === HUNK) hunks.push(r);
    var current = -1;
    var list = VirtualList(scroll, spacer, rows, rowHtml);
    // Each side a fixed column as wide as the longest line and its gutter (line number,
    // padding, border: under 8ch, 10ch to spare), the rows as wide as the longest hunk
    // header: the box scrolls, no line is cut.
    spacer.style.setProperty("--dx-col", dx.width + 10 + "ch");
    spacer.style.minWidth = Math.max(2 * (dx.width + 10), dx.head_width + 4) + "ch";

    /* Where two paired lines differ: the middle between their common prefix and suffix. */
    function differing(x, y) {
      var p = 0;
      while (p < x.length && p < y.length && x[p] === y[p]) p++;
      var q = 0;
      while (q < x.length - p && q < y.length - p && x[x.length - 1 - q] === y[y.length - 1 - q]) q++;
      return [[p, x.length - q], [p, y.length - q]];
    }

    function cell(block, i, number, cls, ranges) {
      if (i < 0) return '<div class="' + cls + '"></div>';
      return '<div class="' + cls + '"><span class="num">' + number + "</span>" + codeHtml(block, i, ranges) + "</div>";
    }

    function rowHtml(r) {
      var k = r * 5;
      var kind = R[k + 2];
      if (kind === HUNK) {
        var h = dx.heads[R[k]];
        var where = h[0] ? '<span class="where" title="' + esc(h[1]) + '">' + esc(h[0]) + '</span> <span class="src">' + esc(h[2]) + "</span>" : "";
        return '<div class="dr hunk" data-r="' + r + '"><div>' + where + '<span class="span">' + esc(h[3]) + "</span></div></div>";
      }
      var ranges = [null, null];
      if (kind === CHANGED) ranges = differing(dx.a.lines[R[k]], dx.b.lines[R[k + 1]]);
      return '<div class="dr" data-r="' + r + '" data-kind="' + kind + '">' + cell(dx.a, R[k], R[k + 3], SIDES[kind][0], ranges[0]) +
        cell(dx.b, R[k + 1], R[k + 4], SIDES[kind][1], ranges[1]) + "</div>";
    }

    function go(k) {
      if (!hunks.length) return;
      current = (k + hunks.length) % hunks.length;
      scroll.scrollTop = hunks[current] * ROW;
      list.draw();
      status.textContent = "hunk " + (current + 1) + " / " + hunks.length;
    }

    byId(scope + "dx-next").addEventListener("click", function () { go(current + 1); });
    byId(scope + "dx-prev").addEventListener("click", function () { go(current - 1); });
    var all = new Int32Array(count);
    for (var i = 0; i < count; i++) all[i] = i;
    list.setItems(all);
    status.textContent = hunks.length + (hunks.length === 1 ? " hunk" : " hunks");
    return { rows: rows, scroll: scroll, status: status, count: list.count };
  }

  /* ------------------------------------------------------------------ test hooks */

  function diffSnapshot(diff) {
    var shown = Array.prototype.slice.call(diff.rows.children, 0, 400);
    return {
      rendered: diff.rows.children.length,
      rows: diff.count(),
      status: diff.status.textContent,
      scrollTop: diff.scroll.scrollTop,
      shown: shown.map(function (el) {
        // `cut`: the cell hides part of its text (its content is wider than the cell)
        var cut = function (c) { return c.scrollWidth > c.clientWidth; };
        if (el.classList.contains("hunk")) return { hunk: el.textContent, cut: cut(el.firstChild) };
        return Array.prototype.map.call(el.children, function (c) {
          var marks = Array.prototype.map.call(c.querySelectorAll("mark"), function (m) { return m.textContent; });
          return { cls: c.className, text: c.textContent, marked: marks, cut: cut(c) };
        });
      })
    };
  }

  function traceSnapshot(report) {
    var view = report.view;
    var jx = report.data.jaxpr;
    var on = view ? Array.prototype.slice.call(view.rows.querySelectorAll(".jr.on")) : [];
    var cur = view ? view.rows.querySelector(".jr.cur") : null;
    var srcScroll = byId(report.scope + "src-scroll");
    return {
      active: view && view.active >= 0 ? jx.srcs[view.active] : null,
      pinned: report.links.pinned() >= 0 ? jx.srcs[report.links.pinned()] : null,
      jaxprOn: on.map(function (el) { return +el.dataset.i; }),
      jaxprOnText: on.map(function (el) { return el.querySelector(".t").textContent; }),
      sourceOn: Array.prototype.slice.call(report.root.querySelectorAll(".sl.on")).map(function (el) { return el.dataset.src; }),
      rendered: view ? view.rows.children.length : 0,
      visible: view ? view.visibleCount() : 0,
      status: view ? view.status.textContent : "",
      marks: view ? view.rows.querySelectorAll("mark").length : 0,
      current: view ? view.currentLine() : -1,
      currentText: cur ? cur.querySelector(".t").textContent : null,
      jaxprScrollTop: view ? view.scroll.scrollTop : 0,
      sourceScrollTop: srcScroll ? srcScroll.scrollTop : 0,
      folded: view ? view.rows.querySelectorAll(".more").length : 0
    };
  }

  /* What the current report shows (nothing while it is not drawn), and for every report of
   * the page whether it is drawn. */
  function snapshot(report) {
    var state = !report.mounted ? {} : report.diff ? diffSnapshot(report.diff) : traceSnapshot(report);
    state.scope = report.scope;
    state.reports = reports.map(function (r) {
      return {
        scope: r.scope,
        mounted: r.mounted,
        jaxprRows: r.view ? r.view.rows.children.length : 0,
        diffRows: r.diff ? r.diff.rows.children.length : 0
      };
    });
    state.errors = errors.slice();
    return state;
  }

  function fire(el, type, init) {
    if (!el) throw new Error("no element for " + type);
    var options = Object.assign({ bubbles: true, cancelable: true }, init || {});
    el.dispatchEvent(type === "keydown" ? new KeyboardEvent(type, options) : new MouseEvent(type, options));
  }

  /* Performs one test action on `report` (the page's current report). */
  function perform(report, name, value) {
    var view = report.view;
    var scope = report.scope;
    var rowEl = function (i) { return view.rows.querySelector('.jr[data-i="' + i + '"]'); };
    var srcEl = function (src) {
      return Array.prototype.slice.call(report.root.querySelectorAll(".sl")).filter(function (el) { return el.dataset.src === src; })[0];
    };
    if (name === "hover-src") fire(srcEl(value), "mouseover");
    else if (name === "click-src") fire(srcEl(value), "click");
    else if (name === "hover-eq" || name === "click-eq") {
      view.reveal(+value);
      fire(rowEl(+value).querySelector(".t"), name === "hover-eq" ? "mouseover" : "click");
    } else if (name === "search") {
      view.input.value = value;
      fire(view.input, "keydown", { key: "Enter" });
    } else if (name === "next") fire(view.input, "keydown", { key: "Enter" });
    else if (name === "fold") fire(rowEl(+value).querySelector("[data-fold]"), "click");
    else if (name === "fold-all") fire(byId(scope + "jx-collapse"), "click");
    else if (name === "unfold-all") fire(byId(scope + "jx-expand"), "click");
    else if (name === "scroll") {
      view.scroll.scrollTop = +value * ROW;
      view.scroll.dispatchEvent(new Event("scroll"));
    } else if (name === "escape") fire(document.body, "keydown", { key: "Escape" });
    else if (name === "next-hunk") fire(byId(scope + "dx-next"), "click");
    else if (name === "load") return;
    else throw new Error("unknown test action " + name);
  }

  /* Runs the actions of a "#test:" hash; `report=SCOPE` makes that report (opened and drawn)
   * the one the next actions act on. */
  function runTestHooks() {
    if (location.hash.indexOf("#test:") !== 0) return;
    var results = [];
    var current = reports[0];
    new URLSearchParams(location.hash.slice(6)).forEach(function (value, name) {
      var started = performance.now();
      try {
        if (name === "report") {
          current = reports.filter(function (r) { return r.scope === value; })[0];
          if (!current) throw new Error("no report " + value);
          open(current.root);
          mount(current);
        } else perform(current, name, value);
        var ms = performance.now() - started;  // the action alone, before the snapshot
        results.push({ action: name, value: value, ms: ms, state: snapshot(current) });
      } catch (err) {
        results.push({ action: name, value: value, error: String(err) });
      }
    });
    var pre = document.createElement("pre");
    pre.id = "jx-test";
    pre.hidden = true;
    pre.textContent = JSON.stringify(results);
    document.body.appendChild(pre);
  }

  /* ------------------------------------------------------------------ start */

  var errors = [];
  window.addEventListener("error", function (event) { errors.push(String(event.message)); });

  /* A page of one report has its panes' data at the top; a page of several lists them. */
  var reports = (data.reports || [{ scope: "", jaxpr: data.jaxpr, diff: data.diff }]).map(function (r) {
    return {
      scope: r.scope,
      data: r,
      root: (r.scope && byId(r.scope + "report")) || document.body,
      mounted: false,
      view: null,
      diff: null,
      links: null
    };
  });
  var focused = reports[0];

  /* Draws a report's panes and links its source to its jaxpr, once. */
  function mount(report) {
    if (report.mounted) return;
    report.mounted = true;
    var jx = report.data.jaxpr || null;
    var scope = report.scope;
    report.view = jx && byId(scope + "jx-scroll") ? JaxprView(jx, scope) : null;
    report.diff = report.data.diff && byId(scope + "dx-scroll") ? DiffView(report.data.diff, scope) : null;
    report.links = linkSource(report.view, jx, report.root, scope);
    ["mouseover", "focusin"].forEach(function (type) {
      report.root.addEventListener(type, function () { focused = report; });
    });
  }

  /* Opens every <details> around an element (and the element itself, if one). */
  function open(el) {
    for (var d = el && el.closest ? el.closest("details") : null; d; d = d.parentElement.closest("details")) {
      d.open = true;
    }
  }

  /* A link to a report or a section inside a closed <details> opens it. */
  function openTarget() {
    var target = location.hash.length > 1 ? byId(decodeURIComponent(location.hash.slice(1))) : null;
    if (!target) return;
    open(target);
    target.scrollIntoView();
  }

  reports.forEach(function (report) {
    var details = report.root.closest("details");
    if (!details || details.open) mount(report);
    else details.addEventListener("toggle", function () { if (details.open) mount(report); });
  });
  document.addEventListener("keydown", function (event) {
    var typing = event.target && event.target.tagName === "INPUT";
    if (event.key === "Escape") {
      reports.forEach(function (r) { if (r.links) r.links.unpin(); });
      if (typing) event.target.blur();
    } else if (event.key === "/" && !typing) {
      var searched = focused.view ? focused : reports.filter(function (r) { return r.view; })[0];
      if (!searched) return;
      event.preventDefault();
      searched.view.input.focus();
    }
  });
  window.addEventListener("hashchange", openTarget);
  openTarget();
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  runTestHooks();
})();
