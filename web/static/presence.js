// Who else is on this record's page (issue #21): tell the server we are here every ~20 s and
// show the others it names. Paused while the tab is hidden, so a forgotten tab stops counting.
(function () {
  var line = document.getElementById("presence");
  if (!line) { return; }
  var timer = null;

  function beat() {
    fetch(line.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": line.dataset.csrf, Accept: "application/json"}
    })
      .then(function (response) { return response.ok ? response.json() : {text: ""}; })
      .then(function (answer) {
        line.textContent = answer.text;
        line.hidden = !answer.text;
      })
      .catch(function () { line.hidden = true; });
  }

  function start() {
    if (timer === null) {
      beat();
      timer = window.setInterval(beat, Number(line.dataset.every) || 20000);
    }
  }

  function stop() {
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stop(); } else { start(); }
  });
  if (!document.hidden) { start(); }
})();
