// The review's print button, bound here: the pages' CSP runs no inline handlers.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
