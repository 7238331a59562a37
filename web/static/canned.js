// The reply box's canned responses (issue #21): fetch the texts rendered for this record on the
// server once, filter them as the agent types, insert one, offer its transition after sending.
document.querySelectorAll("[data-canned]").forEach(function (box) {
  var form = box.closest("form");
  var items = null;
  var search = box.querySelector(".canned-search");
  var list = box.querySelector(".canned-hits");
  var key = form.querySelector("input[name=canned]");
  var then = box.querySelector(".canned-then");
  var tick = then.querySelector("input");
  var textarea = form.querySelector("textarea[name=text]");

  function matches(item, words) {
    var text = (item.title + " " + item.keywords.join(" ")).toLowerCase();
    return words.every(function (word) { return text.indexOf(word) >= 0; });
  }

  function entry(item) {
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = item.title;
    button.title = item.text;
    button.addEventListener("click", function () { choose(item); });
    li.appendChild(button);
    return li;
  }

  function show() {
    if (items === null) {
      items = [];
      fetch(box.dataset.canned, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (found) { items = found; show(); });
      return;
    }
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var found = items.filter(function (item) { return matches(item, words); });
    list.textContent = "";
    found.slice(0, 10).forEach(function (item) { list.appendChild(entry(item)); });
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = box.dataset.empty;
      list.appendChild(none);
    }
    list.hidden = false;
  }

  function choose(item) {
    textarea.value = textarea.value.trim() ? textarea.value.replace(/\s*$/, "\n") + item.text : item.text;
    key.value = item.key;
    then.hidden = !item.transition;
    tick.disabled = !item.transition;
    tick.checked = Boolean(item.transition);
    then.querySelector("span").textContent = item.then;
    list.hidden = true;
    search.value = "";
    textarea.focus();
  }

  search.addEventListener("input", show);
  search.addEventListener("focus", show);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();  // pick the first match; never send the reply from here
      var first = list.querySelector("button");
      if (first) { first.click(); }
    } else if (event.key === "Escape") {
      list.hidden = true;
    }
  });
  document.addEventListener("click", function (event) {
    if (!box.contains(event.target)) { list.hidden = true; }
  });
});
