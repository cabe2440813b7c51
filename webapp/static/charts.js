// Draws the overview charts from the JSON the server embedded (data, not script: CSP-safe).
(function () {
  const holder = document.getElementById("overview-data");
  if (!holder || typeof Chart === "undefined") return;
  const data = JSON.parse(holder.textContent);
  const palette = ["#1f5fbf", "#c0392b", "#e67e22", "#16a085", "#8e44ad", "#2c3e50", "#d35400", "#27ae60", "#7f8c8d", "#f1c40f"];
  const common = { animation: false, responsive: true, plugins: { legend: { position: "bottom" } } };
  const bar = (id, rows, label) => new Chart(document.getElementById(id), {
    type: "bar",
    data: { labels: rows.map((r) => r.key), datasets: [{ label, data: rows.map((r) => r.count), backgroundColor: palette[0] }] },
    options: common,
  });
  const days = data.per_day.days;
  new Chart(document.getElementById("chart-per-day"), {
    type: "bar",
    data: {
      labels: days,
      datasets: Object.entries(data.per_day.substances).map(([name, counts], i) => ({
        label: name, data: counts, backgroundColor: palette[i % palette.length],
      })),
    },
    options: { ...common, scales: { x: { stacked: true }, y: { stacked: true } } },
  });
  bar("chart-platform", data.platform, "flagged listings");
  bar("chart-site", data.site, "flagged listings");
  bar("chart-score", data.score, "listings");
  bar("chart-sellers", data.new_sellers, "new seller clusters");
})();
