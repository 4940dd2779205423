using System.Net;
using System.Text;
using LastTokenEmbeddings.AspNetCore.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>Payload and batch limits, malformed bodies, the API key and option validation.</summary>
public class LimitsAndAuthTests
{
    private const string Key = "sk-test-0123456789";

    private ServerHost server = null!;

    [OneTimeSetUp]
    public async Task Start() => server = await ServerHost.StartAsync(Fixtures.TinyModel, o => { o.MaxRequestBodyBytes = 4096; o.MaxClientBatchSize = 8; });

    [OneTimeTearDown]
    public async Task Stop() => await server.DisposeAsync();

    private static string BigBody(string field) => $$"""{"{{field}}": "{{new string('a', 5000)}}"}""";

    [Test]
    public async Task A_body_over_the_payload_limit_is_413()
    {
        await (await server.PostAsync("/embed", BigBody("inputs"))).TeiErrorAsync(HttpStatusCode.RequestEntityTooLarge, "Validation");
        await (await server.PostAsync("/v1/embeddings", BigBody("input"))).OpenAIErrorAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Test]
    public async Task A_chunked_body_without_length_is_cut_at_the_limit_too()
    {
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(BigBody("inputs"))));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        content.Headers.ContentLength = null;
        await (await server.Client.PostAsync("/embed", content)).TeiErrorAsync(HttpStatusCode.RequestEntityTooLarge, "Validation");
    }

    [Test]
    public async Task Too_many_inputs_is_413()
    {
        var tooMany = Enumerable.Repeat("x", 9).ToArray();
        var tei = await (await server.PostJsonAsync("/embed", new { inputs = tooMany })).TeiErrorAsync(HttpStatusCode.RequestEntityTooLarge, "Validation");
        Assert.That(tei.GetProperty("error").GetString(), Is.EqualTo("batch size 9 > maximum allowed batch size 8"));
        await (await server.PostJsonAsync("/v1/embeddings", new { input = tooMany })).OpenAIErrorAsync(HttpStatusCode.RequestEntityTooLarge);
        await (await server.PostJsonAsync("/embed", new { inputs = tooMany[..8] })).JsonAsync(HttpStatusCode.OK);
    }

    [TestCase("{\"inputs\": ")]
    [TestCase("not json")]
    [TestCase("")]
    [TestCase("{\"inputs\": \"x\"} trailing")]
    public async Task Bad_json_is_400_with_a_json_body(string body)
    {
        await (await server.PostAsync("/embed", body)).TeiErrorAsync(HttpStatusCode.BadRequest, "Validation");
        await (await server.PostAsync("/v1/embeddings", body)).OpenAIErrorAsync(HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task A_non_json_content_type_is_415()
    {
        using var form = new StringContent("input=hello", Encoding.UTF8, "application/x-www-form-urlencoded");
        await (await server.Client.PostAsync("/v1/embeddings", form)).OpenAIErrorAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Test]
    public async Task The_api_key_guards_the_api_but_not_health_or_metrics()
    {
        await using var guarded = await ServerHost.StartAsync(Fixtures.TinyModel, o => o.ApiKey = Key);
        var body = new { input = "x" };

        foreach (var authorization in new[] { null, "Bearer wrong", $"Bearer {Key}x", $"Basic {Key}" })
        {
            var response = await guarded.PostWithAuthorizationAsync("/v1/embeddings", body, authorization);
            var error = await response.OpenAIErrorAsync(HttpStatusCode.Unauthorized);
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("invalid_api_key"), authorization ?? "no header");
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        }
        await (await guarded.PostWithAuthorizationAsync("/embed", new { inputs = "x" }, "Bearer wrong")).TeiErrorAsync(HttpStatusCode.Unauthorized, "Unauthorized");
        Assert.That((await guarded.Client.GetAsync("/info")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        await (await guarded.PostWithAuthorizationAsync("/v1/embeddings", body, $"Bearer {Key}")).JsonAsync(HttpStatusCode.OK);
        await (await guarded.PostWithAuthorizationAsync("/embed", new { inputs = "x" }, $"Bearer {Key}")).JsonAsync(HttpStatusCode.OK);
        Assert.That((await guarded.Client.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await guarded.Client.GetAsync("/metrics")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCaseSource(nameof(BadOptions))]
    public void Invalid_options_stop_the_host_at_start(Action<EmbeddingServerOptions> configure, string option)
    {
        var error = Assert.ThrowsAsync<OptionsValidationException>(async () => await ServerHost.StartAsync(Fixtures.TinyModel, configure));
        Assert.That(error!.Message, Does.Contain(option));
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        yield return new TestCaseData((Action<EmbeddingServerOptions>)(o => o.MaxConcurrentRequests = 0), "MaxConcurrentRequests").SetName("MaxConcurrentRequests 0");
        yield return new TestCaseData((Action<EmbeddingServerOptions>)(o => o.MaxClientBatchSize = -1), "MaxClientBatchSize").SetName("MaxClientBatchSize -1");
        yield return new TestCaseData((Action<EmbeddingServerOptions>)(o => o.MaxRequestBodyBytes = 0), "MaxRequestBodyBytes").SetName("MaxRequestBodyBytes 0");
        yield return new TestCaseData((Action<EmbeddingServerOptions>)(o => o.ApiKey = "has space"), "ApiKey").SetName("ApiKey with a space");
        yield return new TestCaseData((Action<EmbeddingServerOptions>)(o => o.ServedModelName = " "), "ServedModelName").SetName("ServedModelName blank");
        yield return new TestCaseData((Action<EmbeddingServerOptions>)(o => o.RetryAfterSeconds = -1), "RetryAfterSeconds").SetName("RetryAfterSeconds -1");
    }

    [Test]
    public void MapEmbeddings_without_AddEmbeddingServer_says_what_is_missing()
    {
        var builder = WebApplication.CreateSlimBuilder();
        using var app = builder.Build();
        var error = Assert.Throws<InvalidOperationException>(() => app.MapEmbeddings());
        Assert.That(error!.Message, Does.Contain("AddEmbeddingServer"));
    }
}
