// Instant filters: the search form works without this script; with it, choosing a value in
// one of its lists (type, seniority, where, sort) runs the search at once.
document.querySelectorAll("#search-form select").forEach(function (s) {
  s.addEventListener("change", function () {
    s.form.requestSubmit();
  });
});
