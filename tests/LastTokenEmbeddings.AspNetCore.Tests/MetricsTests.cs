using System.Net;
using LastTokenEmbeddings.AspNetCore.Tests.Support;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary><c>GET /metrics</c> is valid Prometheus text and counts what happened.</summary>
public class MetricsTests
{
    [Test]
    public async Task Metrics_parse_and_count_requests_tokens_and_queue()
    {
        await using var server = await ServerHost.StartAsync(Fixtures.TinyModel, o => o.MaxConcurrentRequests = 5);
        var expected = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts[..3]);
        await (await server.PostJsonAsync("/embed", new { inputs = Fixtures.Texts[..3] })).JsonAsync(HttpStatusCode.OK);
        await (await server.PostJsonAsync("/v1/embeddings", new { input = "x" })).JsonAsync(HttpStatusCode.OK);
        await (await server.PostAsync("/embed", "{not json")).TeiErrorAsync(HttpStatusCode.BadRequest, "Validation");

        var response = await server.Client.GetAsync("/metrics");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        var (samples, types) = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        Assert.That(types["lte_requests_total"], Is.EqualTo("counter"));
        Assert.That(types["lte_request_duration_seconds"], Is.EqualTo("histogram"));
        Assert.That(types["lte_queue_size"], Is.EqualTo("gauge"));
        Assert.That(types["lte_batch_tokens"], Is.EqualTo("histogram"));
        double Requests(string endpoint, string status) => samples.Single(s => s.Name == "lte_requests_total" && s.Labels["endpoint"] == endpoint && s.Labels["status"] == status).Value;
        Assert.That(Requests("embed", "200"), Is.EqualTo(1));
        Assert.That(Requests("embed", "400"), Is.EqualTo(1));
        Assert.That(Requests("openai_embeddings", "200"), Is.EqualTo(1));
        Assert.That(samples.Single(s => s.Name == "lte_request_duration_seconds_count" && s.Labels["endpoint"] == "embed").Value, Is.EqualTo(2));
        Assert.That(samples.Single(s => s.Name == "lte_queue_size").Value, Is.Zero, "nothing in flight");
        Assert.That(samples.Single(s => s.Name == "lte_queue_capacity").Value, Is.EqualTo(5));
        var tokens = expected.Sum(e => e.TokenCount) + Fixtures.TinyModel.Tokenize("x").Length;
        Assert.That(samples.Single(s => s.Name == "lte_tokens_total").Value, Is.EqualTo(tokens));
        Assert.That(samples.Single(s => s.Name == "lte_batch_tokens_sum").Value, Is.EqualTo(tokens));
        Assert.That(samples.Single(s => s.Name == "lte_request_inputs_sum").Value, Is.EqualTo(4));

        var buckets = samples.Where(s => s.Name == "lte_request_duration_seconds_bucket" && s.Labels["endpoint"] == "embed").ToList();
        Assert.That(buckets.Select(b => b.Value), Is.Ordered, "cumulative buckets");
        Assert.That(buckets[^1].Labels["le"], Is.EqualTo("+Inf"));
        Assert.That(buckets[^1].Value, Is.EqualTo(2));
    }

    [Test]
    public async Task The_queue_gauge_counts_requests_inside_the_model()
    {
        using var model = new GatedModel();
        await using var server = await ServerHost.StartAsync(model);
        var held = new[] { server.PostJsonAsync("/embed", new { inputs = "a", normalize = false }), server.PostJsonAsync("/embed", new { inputs = "b", normalize = false }) };
        await model.WaitForCallsAsync(2);

        var (samples, _) = PrometheusText.Parse(await server.Client.GetStringAsync("/metrics"));
        Assert.That(samples.Single(s => s.Name == "lte_queue_size").Value, Is.EqualTo(2));

        model.Open();
        foreach (var response in await Task.WhenAll(held))
            await response.JsonAsync(HttpStatusCode.OK);
    }

    [Test]
    public void The_parser_rejects_malformed_text()
    {
        Assert.Throws<FormatException>(() => PrometheusText.Parse("# TYPE x counter\nx{a=\"1\" 3\n"));
        Assert.Throws<FormatException>(() => PrometheusText.Parse("y 3\n"));
        Assert.Throws<FormatException>(() => PrometheusText.Parse("# TYPE x counter\nx three\n"));
    }
}
