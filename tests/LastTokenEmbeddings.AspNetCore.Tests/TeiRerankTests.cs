using System.Net;
using System.Text.Json;
using LastTokenEmbeddings.AspNetCore.Tests.Support;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Reranking;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>TEI's <c>POST /rerank</c> over the Qwen3 fixture's reranker: the library's scores, sorted, in TEI's shape.</summary>
public class TeiRerankTests
{
    private static readonly string Qwen3 = Path.Combine(Fixtures.RepositoryRoot, "tests", "fixtures", "tiny-qwen3");
    private WebApplication app = null!;
    private HttpClient client = null!;
    private Reranker reranker = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        reranker = Reranker.Load(Qwen3, loadOptions: new ModelLoadOptions { DType = ComputeDType.Float32 });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton<IReranker>(reranker);
        builder.Services.AddEmbeddingServer(Fixtures.TinyModel);
        app = builder.Build();
        app.MapEmbeddings();
        await app.StartAsync();
        client = app.GetTestClient();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        client.Dispose();
        await app.DisposeAsync();
        reranker.Dispose();
    }

    private async Task<JsonElement> Rerank(object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.PostAsync("/rerank", new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(expected), await response.Content.ReadAsStringAsync());
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    [Test]
    public async Task Scores_are_the_rerankers_sorted_highest_first()
    {
        string[] texts = ["OpenAI is based at San Francisco.", "Paris is the capital of France.", "The llama is a domesticated South American camelid."];
        const string query = "Where is the headquarter of OpenAI?";
        var expected = await reranker.RerankAsync(query, texts);
        var results = (await Rerank(new { query, texts, return_text = true })).EnumerateArray().ToArray();
        Assert.That(results.Select(r => r.GetProperty("index").GetInt32()), Is.EqualTo(expected.Ranking.Select(r => r.Index)));
        for (var k = 0; k < results.Length; k++)
        {
            var index = results[k].GetProperty("index").GetInt32();
            Assert.That(results[k].GetProperty("score").GetDouble(), Is.EqualTo(expected.Documents[index].Score).Within(1e-6));
            Assert.That(results[k].GetProperty("text").GetString(), Is.EqualTo(texts[index]));
        }
        var raw = (await Rerank(new { query, texts, raw_scores = true })).EnumerateArray().ToArray();
        Assert.That(raw[0].GetProperty("score").GetDouble(), Is.EqualTo(expected.Ranking[0].LogOdds).Within(1e-5), "raw_scores: log-odds");
        Assert.That(raw[0].TryGetProperty("text", out _), Is.False);
    }

    [Test]
    public async Task Bad_requests_get_TEI_errors()
    {
        var empty = await Rerank(new { query = "q", texts = Array.Empty<string>() }, HttpStatusCode.BadRequest);
        Assert.That(empty.GetProperty("error_type").GetString(), Is.EqualTo("Empty"));
        var wrong = await Rerank(new { query = 3, texts = new[] { "a" } }, HttpStatusCode.UnprocessableEntity);
        Assert.That(wrong.GetProperty("error").GetString(), Does.Contain("query"));
    }

    [Test]
    public async Task Without_a_reranker_there_is_no_rerank_route()
    {
        await using var plain = await ServerHost.StartAsync(Fixtures.TinyModel);
        using var response = await plain.PostJsonAsync("/rerank", new { query = "q", texts = new[] { "a" } });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound).Or.EqualTo(HttpStatusCode.MethodNotAllowed));
    }
}
