// Breed suggestions follow the species chosen in the animal form.
// Without this script the page's datalist offers every breed (or the
// species' own when the page was rendered with one chosen).
(function () {
  "use strict";
  var data = document.getElementById("breed-data");
  var species = document.getElementById("id_species");
  var list = document.getElementById("breed-options");
  if (!data || !species || !list) { return; }
  var bySpecies = JSON.parse(data.textContent);
  var all = [];
  Object.keys(bySpecies).forEach(function (code) {
    bySpecies[code].forEach(function (name) { if (all.indexOf(name) < 0) { all.push(name); } });
  });
  function refresh() {
    var names = bySpecies[species.value] || all;
    list.textContent = "";
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      list.appendChild(option);
    });
    list.setAttribute("data-species", species.value);
  }
  species.addEventListener("change", refresh);
  refresh();
})();
