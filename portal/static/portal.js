// The web form's suggestions (issue #23): as the customer describes the problem, the best
// published articles appear; "this solved it" counts the question answered, and no record is made.
(function () {
  "use strict";
  var box = document.getElementById("suggestions");
  var input = document.querySelector("[data-suggest]");
  var answered = document.getElementById("answered-form");
  var template = document.getElementById("suggestion");
  if (!box || !input || !answered || !template) { return; }
  var list = box.querySelector("ul");
  var timer = null;
  var asked = "";

  function show(articles) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    articles.forEach(function (article) {
      var item = template.content.firstElementChild.cloneNode(true);
      var link = item.querySelector("a.title");
      link.textContent = article.title;
      link.href = article.url + "?q=" + encodeURIComponent(asked);
      item.querySelector("button.solved").addEventListener("click", function () {
        answered.action = answered.dataset.action.replace(/\/1$/, "/" + article.id);
        answered.querySelector("input[name=q]").value = asked;
      });
      list.appendChild(item);
    });
    box.hidden = articles.length === 0;
  }

  function ask() {
    var question = input.value.trim();
    if (question.length < 2 || question === asked) { return; }
    asked = question;
    fetch(input.dataset.suggest + "?q=" + encodeURIComponent(question), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (articles) { if (question === asked) { show(articles); } })
      .catch(function () { /* suggestions are a help, never in the way of the form */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 300);
  });
})();
