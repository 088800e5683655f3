// One province → city → district picker for the console and the shop page, and the address
// choices (radio cards) that fill a form's address fields.
//
// Markup (templates/_region_picker.html): a [data-region-picker] holding three
// select[data-region=province|city|district]; each option carries data-code (GB/T 2260). The
// container's data-value says whether the selects post codes (console forms) or names (the shop's
// order API). The lists under a pick come from the public, cached /api/v1/public/regions, so the
// customer's phone needs no staff sign-in, and no htmx request is made: a swap would close the
// dialog the picker sits in.
(function () {
  "use strict";
  const ENDPOINT = "/api/v1/public/regions";
  const LEVELS = ["province", "city", "district"];
  const lists = new Map(); // parent code → Promise of its children, fetched once per page

  function children(parent) {
    const key = parent || "";
    if (!lists.has(key)) {
      const url = parent ? ENDPOINT + "?parent=" + encodeURIComponent(parent) : ENDPOINT;
      const loading = fetch(url, { credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("regions " + response.status);
          return response.json();
        })
        .catch(function (error) { lists.delete(key); throw error; });
      lists.set(key, loading);
    }
    return lists.get(key);
  }

  function selectOf(picker, level) {
    return picker.querySelector('select[data-region="' + level + '"]');
  }

  function codeOf(select) {
    const option = select && select.selectedOptions[0];
    return (option && option.dataset.code) || "";
  }

  // Empty the selects from ``level`` down, keeping their first option (the placeholder).
  function clearFrom(picker, level) {
    LEVELS.slice(LEVELS.indexOf(level)).forEach(function (name) {
      const select = selectOf(picker, name);
      if (select) { select.length = 1; select.disabled = false; }
    });
  }

  const turns = new WeakMap(); // select → the latest load asked of it; an older answer is dropped

  async function load(picker, level, parent) {
    clearFrom(picker, level);
    const select = selectOf(picker, level);
    if (!select || (!parent && level !== "province")) return [];
    const turn = (turns.get(select) || 0) + 1;
    turns.set(select, turn);
    picker.setAttribute("aria-busy", "true");
    try {
      const found = await children(parent);
      if (turns.get(select) !== turn) return found; // picked again meanwhile: that load fills it
      if (picker.dataset.error) clearError(picker); // a list came: the one that failed is stale now
      const byCode = picker.dataset.value !== "name";
      found.forEach(function (d) {
        const option = new Option(d.name, byCode ? d.code : d.name);
        option.dataset.code = d.code;
        select.add(option);
      });
      // A city without districts (东莞市, 仙桃市) leaves the district empty, and that is fine. The
      // other selects stay enabled while empty: ``required`` then stops a form sent without them.
      select.disabled = level === "district" && found.length === 0;
      // A municipality has one city (北京市 → 北京市): pick it and go on to its districts.
      if (level === "city" && found.length === 1) {
        select.selectedIndex = 1;
        await load(picker, "district", found[0].code);
      }
      return found;
    } catch (error) {
      if (turns.get(select) === turn) failed(picker, level, parent);
      return [];
    } finally {
      picker.removeAttribute("aria-busy");
    }
  }

  // A list that did not load: the picker says so (its data-region-error, translated by the
  // template) and its retry button loads that list again.
  const retries = new WeakMap(); // picker → what its retry button does
  function failed(picker, level, parent) {
    picker.dataset.error = "1";
    retries.set(picker, function () {
      if (level !== "province") return load(picker, level, parent);
      provinceLists.delete(picker); // the shop page's provinces: load them as on the first visit
      return provincesOf(picker);
    });
    const note = picker.querySelector("[data-region-error]");
    if (note) note.hidden = false;
  }

  function clearError(picker) {
    retries.delete(picker);
    delete picker.dataset.error;
    const note = picker.querySelector("[data-region-error]");
    if (note) note.hidden = true;
  }

  function retry(picker) {
    const again = retries.get(picker);
    clearError(picker);
    if (again) again();
  }

  // Select the option with this code or, failing that, this name; its code ("" when none).
  function pick(select, code, name) {
    if (!select) return "";
    for (const option of select.options) {
      if (option.index > 0 && ((code && option.dataset.code === code) || (name && option.text === name))) {
        select.value = option.value;
        return option.dataset.code || "";
      }
    }
    select.selectedIndex = 0;
    return "";
  }

  // The provinces of a picker rendered without them (the shop page), loaded once.
  const provinceLists = new WeakMap();
  function provincesOf(picker) {
    if (!provinceLists.has(picker)) {
      const select = selectOf(picker, "province");
      provinceLists.set(picker, select && select.length <= 1 ? load(picker, "province", "") : Promise.resolve());
    }
    return provinceLists.get(picker);
  }

  async function setRegions(picker, a) {
    await provincesOf(picker);
    const province = pick(selectOf(picker, "province"), a.province_code, a.province);
    await load(picker, "city", province);
    const city = pick(selectOf(picker, "city"), a.city_code, a.city);
    await load(picker, "district", city);
    pick(selectOf(picker, "district"), a.district_code, a.district);
  }

  // Fill the address fields of the choice's form from its data-address. A masked choice (it has
  // only data-address-id: the server fills it in) hides and disables the fields instead, so the
  // form is sent without them; any other choice shows them again.
  async function useChoice(input) {
    const scope = input.closest("form") || document;
    const fields = scope.querySelector("[data-address-fields]");
    const byId = input.dataset.addressId !== undefined;
    if (fields) { fields.hidden = byId; fields.disabled = byId; }
    if (byId || input.dataset.address === undefined) return; // "another address": the fields as they are
    const a = JSON.parse(input.dataset.address || "{}");
    ["receiver", "phone", "detail"].forEach(function (field) {
      const box = scope.querySelector('[data-field="' + field + '"]');
      if (box) box.value = a[field] || "";
    });
    const picker = scope.querySelector("[data-region-picker]");
    if (picker) {
      picker.dataset.filling = "1";
      try { await setRegions(picker, a); } finally { delete picker.dataset.filling; }
    }
  }

  document.addEventListener("change", function (event) {
    const select = event.target.closest("[data-region-picker] select[data-region]");
    if (select) {
      const picker = select.closest("[data-region-picker]");
      const next = LEVELS[LEVELS.indexOf(select.dataset.region) + 1];
      if (next) load(picker, next, codeOf(select));
      return;
    }
    const choice = event.target.closest("input[data-address-choice]");
    if (choice && choice.checked) useChoice(choice);
  });

  // A button that offers one choice ("use the address from the chat") picks it as it opens the form.
  document.addEventListener("click", function (event) {
    const again = event.target.closest("[data-region-retry]");
    if (again) { retry(again.closest("[data-region-picker]")); return; }
    const offer = event.target.closest("[data-pick-choice]");
    if (!offer) return;
    const input = document.querySelector('input[data-address-choice][value="' + offer.dataset.pickChoice + '"]');
    if (input) { input.checked = true; useChoice(input); }
  });

  // A picker rendered with an empty province list (the shop page) loads the provinces itself.
  function start() {
    document.querySelectorAll("[data-region-picker]").forEach(function (picker) {
      provincesOf(picker);
    });
    const checked = document.querySelector("input[data-address-choice][data-prefill]");
    if (checked) { checked.checked = true; useChoice(checked); }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
