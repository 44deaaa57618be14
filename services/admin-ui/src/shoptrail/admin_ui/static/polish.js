// Shoptrail admin, the comforts: times that age, the badge announced, keyboard shortcuts.
// Separate from admin.js (live updates and row actions), which it only watches: it reads
// the rows and the badge admin.js keeps current, and submits the same forms a click would.
(() => {
  "use strict";

  // ---- relative times: "just now", "3 min ago", "2 h ago", kept aging ------------
  //
  // The server renders the words (timefmt.relative_time); this is the same function, so
  // a page left open reads the same as a fresh one. Python rounds half to even: so do we.

  const REFRESH_MS = 30_000;

  function roundHalfEven(x) {
    const floor = Math.floor(x);
    const diff = x - floor;
    if (diff > 0.5) return floor + 1;
    if (diff < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  function ago(n, unit) {
    return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  }

  function relativeTime(when, now) {
    const seconds = (now - when) / 1000;
    if (seconds < 45) return "just now";
    const minutes = roundHalfEven(seconds / 60);
    if (minutes < 60) return `${minutes} min ago`;
    const hours = roundHalfEven(seconds / 3600);
    if (hours < 24) return `${hours} h ago`;
    const days = roundHalfEven(seconds / 86400);
    if (days === 1) return "yesterday";
    if (days < 30) return ago(days, "day");
    const months = roundHalfEven(days / 30.44);
    if (months < 12) return ago(months, "month");
    return ago(roundHalfEven(days / 365.25), "year");
  }

  function refreshTimes(root = document) {
    const now = Date.now();
    for (const el of root.querySelectorAll("time[data-relative][datetime]")) {
      const when = Date.parse(el.getAttribute("datetime"));
      if (Number.isNaN(when)) continue;
      const words = relativeTime(when, now);
      if (el.textContent !== words) el.textContent = words;
    }
  }

  setInterval(refreshTimes, REFRESH_MS);
  refreshTimes();

  // ---- the badge, announced: a polite live region, spoken only when the count changes ---

  const announcer = document.getElementById("attention-announcer");
  const badgeCount = document.querySelector("#attention-badge [data-attention-count]");
  if (announcer && badgeCount) {
    let announced = badgeCount.textContent.trim(); // what the page opened with is not news
    new MutationObserver(() => {
      const count = badgeCount.textContent.trim();
      if (count === announced) return;
      announced = count;
      const n = Number(count);
      announcer.textContent =
        n === 0 ? "Nothing needs attention" : `${n} ${n === 1 ? "entry needs" : "entries need"} attention`;
    }).observe(badgeCount, { childList: true, characterData: true, subtree: true });
  }

  // ---- keyboard shortcuts -----------------------------------------------------------

  const ROWS = "#feed-entries > li.entry, #timeline li.timeline-entry";
  const SHORTCUTS = [
    ["j", "Next entry"],
    ["k", "Previous entry"],
    ["r", "Resolve the selected entry"],
    ["/", "Search"],
    ["?", "Show or hide these shortcuts"],
    ["Esc", "Close this help"],
  ];
  let selectedKey = null; // the selected row's id (or entry id), to find it again after a swap

  function visibleRows() {
    return [...document.querySelectorAll(ROWS)].filter((row) => row.getClientRects().length > 0);
  }

  function keyOf(row) {
    return row.id || `entry-id:${row.dataset.entryId ?? ""}`;
  }

  function rowFor(key) {
    return visibleRows().find((row) => keyOf(row) === key) ?? null;
  }

  function select(row) {
    for (const old of document.querySelectorAll(".is-kbd-focus")) {
      if (old !== row) old.classList.remove("is-kbd-focus");
    }
    row.classList.add("is-kbd-focus");
    row.tabIndex = -1;
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    selectedKey = keyOf(row);
  }

  function move(step) {
    const rows = visibleRows();
    if (rows.length === 0) return;
    const current = rows.findIndex((row) => row.contains(document.activeElement));
    const from = current >= 0 ? current : rows.findIndex((row) => keyOf(row) === selectedKey);
    const next = from < 0 ? (step > 0 ? 0 : rows.length - 1) : from + step;
    select(rows[Math.min(Math.max(next, 0), rows.length - 1)]);
  }

  function resolveSelected() {
    const row = rowFor(selectedKey ?? "") ?? visibleRows().find((r) => r.contains(document.activeElement));
    const form = row?.querySelector("form.resolve-form");
    // requestSubmit: the same submit event a click makes, so admin.js posts it with its
    // CSRF token (or, without script, the form's own hidden token goes with it).
    if (form) form.requestSubmit();
  }

  // A live update or an action re-renders a row in place: keep the selection on it.
  const lists = document.querySelectorAll("#feed-entries, #timeline");
  for (const list of lists) {
    new MutationObserver(() => {
      if (!selectedKey) return;
      const row = rowFor(selectedKey);
      if (!row) return;
      const lost = !document.activeElement || document.activeElement === document.body;
      if (!row.classList.contains("is-kbd-focus") || lost) {
        row.classList.add("is-kbd-focus");
        row.tabIndex = -1;
        if (lost) row.focus({ preventScroll: true });
      }
    }).observe(list, { childList: true, subtree: true });
  }
  for (const list of lists) {
    list.addEventListener("focusout", (event) => {
      // Focus left the rows for somewhere else the reader chose: drop the highlight.
      if (event.relatedTarget && !event.relatedTarget.closest(ROWS)) {
        for (const old of document.querySelectorAll(".is-kbd-focus")) old.classList.remove("is-kbd-focus");
        selectedKey = null;
      }
    });
  }

  let help = null;

  function buildHelp() {
    const panel = document.createElement("section");
    panel.id = "shortcut-help";
    panel.className = "shortcut-help";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "shortcut-help-title");
    panel.hidden = true;
    const title = document.createElement("h2");
    title.id = "shortcut-help-title";
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    for (const [key, what] of SHORTCUTS) {
      const dt = document.createElement("dt");
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      dt.append(kbd);
      const dd = document.createElement("dd");
      dd.textContent = what;
      list.append(dt, dd);
    }
    panel.append(title, list);
    document.body.append(panel);
    return panel;
  }

  function toggleHelp(open) {
    help ??= buildHelp();
    help.hidden = !(open ?? help.hidden);
  }

  function typing(target) {
    return (
      target instanceof Element &&
      (target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])") !== null)
    );
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      if (help && !help.hidden) {
        toggleHelp(false);
        event.preventDefault();
      }
      return;
    }
    if (typing(event.target)) return; // the reader is writing a note or a search
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "r":
        resolveSelected();
        break;
      case "/": {
        const search = document.querySelector('[role="search"] input[type="search"], input[type="search"]');
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      case "?":
        toggleHelp();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
})();
