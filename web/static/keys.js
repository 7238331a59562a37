// Keyboard shortcuts on the desk (issue #21, item 7): J/N and K/P the next and previous record
// of the queue, Enter opens the one chosen, R the reply box, I the internal note, T take next,
// ? the help. Never while typing in a field, and never with Ctrl, Alt or Cmd held.
(function () {
  var help = document.getElementById("keys-help");
  var hint = document.querySelector("script[data-hint]").dataset.hint;
  var QUEUE = "careloop.queue";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-record]"));
  var chosen = -1;

  // The keys shown on hover, from the help's own rows ("快捷键：R").
  help.querySelectorAll("tr[data-target]").forEach(function (row) {
    var key = row.querySelector("kbd").textContent;
    document.querySelectorAll(row.dataset.target).forEach(function (element) {
      if (!element.title) { element.title = hint.replace("KEY", key); }
    });
  });

  // The queue remembers its order, so a record page knows its neighbours.
  if (rows.length) {
    var links = rows.map(function (row) { return row.querySelector("a").getAttribute("href"); });
    sessionStorage.setItem(QUEUE, JSON.stringify(links));
  }
  var nav = document.querySelector(".queue-nav");
  if (nav) {
    var order = JSON.parse(sessionStorage.getItem(QUEUE) || "[]");
    var here = order.indexOf(window.location.pathname);
    nav.querySelectorAll("[data-step]").forEach(function (link) {
      var target = here < 0 ? undefined : order[here + Number(link.dataset.step)];
      if (target) { link.href = target; link.hidden = false; }
    });
    nav.hidden = !nav.querySelector("[data-step]:not([hidden])");
  }

  function typing(element) {
    return element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  function choose(step) {
    chosen = Math.max(0, Math.min(rows.length - 1, chosen + step));
    rows.forEach(function (row, i) { row.classList.toggle("chosen", i === chosen); });
    rows[chosen].scrollIntoView({block: "nearest"});
  }

  function step(by) {
    if (rows.length) { choose(by); return; }
    var link = nav && nav.querySelector("[data-step='" + by + "']:not([hidden])");
    if (link) { window.location.href = link.href; }
  }

  function focus(selector) {
    var box = document.querySelector(selector);
    if (box) { box.scrollIntoView({block: "center"}); box.focus(); }
  }

  function takeNext() {
    var button = document.getElementById("take-next");
    if (button) { button.click(); } else { document.getElementById("keys-take").submit(); }
  }

  var actions = {
    j: function () { step(1); }, n: function () { step(1); },
    k: function () { step(-1); }, p: function () { step(-1); },
    r: function () { focus(".reply-box textarea"); },
    i: function () { focus(".note-box textarea"); },
    t: takeNext,
    "?": function () { help.hidden = !help.hidden; },
    Enter: function () { if (chosen >= 0) { window.location.href = rows[chosen].querySelector("a").href; } }
  };

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !help.hidden) { help.hidden = true; return; }
    if (event.isComposing || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === "Enter" && (chosen < 0 || event.target !== document.body)) { return; }
    var action = actions[key];
    if (action) { event.preventDefault(); action(); }
  });
  help.querySelector("[data-close]").addEventListener("click", function () { help.hidden = true; });
})();
