using System.Net;
using LastTokenEmbeddings.AspNetCore.Tests.Support;
using Microsoft.Extensions.Hosting;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>TEI's <c>/tokenize</c>, <c>/info</c> and <c>/health</c>.</summary>
public class TokenizeInfoHealthTests
{
    private ServerHost server = null!;

    [OneTimeSetUp]
    public async Task Start() => server = await ServerHost.StartAsync(Fixtures.TinyModel, o => { o.MaxConcurrentRequests = 7; o.MaxClientBatchSize = 9; });

    [OneTimeTearDown]
    public async Task Stop() => await server.DisposeAsync();

    [Test]
    public async Task Tokenize_gives_the_ids_the_decoder_sees()
    {
        var json = await (await server.PostJsonAsync("/tokenize", new { inputs = new[] { "Hello world!", "What is GPU?" } })).JsonAsync(HttpStatusCode.OK);
        Assert.That(json.GetArrayLength(), Is.EqualTo(2));
        var tokens = json[0].EnumerateArray().ToArray();
        Assert.That(tokens.Select(t => t.GetProperty("id").GetInt32()), Is.EqualTo(Fixtures.TinyModel.Tokenize("Hello world!")));
        Assert.That(tokens[0].GetProperty("id").GetInt32(), Is.EqualTo(1), "BOS");
        Assert.That(tokens[0].GetProperty("special").GetBoolean(), Is.True);
        Assert.That(tokens[0].GetProperty("text").GetString(), Is.EqualTo("<s>"));
        Assert.That(tokens[1].GetProperty("special").GetBoolean(), Is.False);
        Assert.That(string.Concat(tokens.Skip(1).Select(t => t.GetProperty("text").GetString())), Does.Contain("Hello").And.Contain("world"));
        Assert.That(tokens.All(t => t.GetProperty("start").ValueKind == System.Text.Json.JsonValueKind.Null), "no offsets");
        Assert.That(json[1].EnumerateArray().Select(t => t.GetProperty("id").GetInt32()), Is.EqualTo(Fixtures.TinyModel.Tokenize("What is GPU?")));
    }

    [Test]
    public async Task Tokenize_without_special_tokens_gives_the_text_alone()
    {
        var json = await (await server.PostJsonAsync("/tokenize", new { inputs = "Hello world!", add_special_tokens = false })).JsonAsync(HttpStatusCode.OK);
        Assert.That(json[0].EnumerateArray().Select(t => t.GetProperty("id").GetInt32()),
            Is.EqualTo(Fixtures.TinyModel.Tokenizer.Encode("Hello world!", addSpecialTokens: false)));
    }

    [Test]
    public async Task Tokenize_refuses_what_embed_refuses()
    {
        await (await server.PostJsonAsync("/tokenize", new { inputs = Array.Empty<string>() })).TeiErrorAsync(HttpStatusCode.BadRequest, "Empty");
        await (await server.PostJsonAsync("/tokenize", new { inputs = Enumerable.Repeat("a", 10) })).TeiErrorAsync(HttpStatusCode.RequestEntityTooLarge, "Validation");
        await (await server.PostJsonAsync("/tokenize", new { inputs = new[] { 1, 2 } })).TeiErrorAsync(HttpStatusCode.UnprocessableEntity, "Validation");
        await (await server.PostJsonAsync("/tokenize", new { inputs = "x", prompt_name = "nope" })).TeiErrorAsync(HttpStatusCode.UnprocessableEntity, "Validation");
    }

    [Test]
    public async Task Info_has_TEI_fields()
    {
        var info = await (await server.Client.GetAsync("/info")).JsonAsync(HttpStatusCode.OK);
        Assert.That(info.GetProperty("model_id").GetString(), Is.EqualTo("tiny-mistral"));
        Assert.That(info.GetProperty("served_model_name").GetString(), Is.EqualTo("tiny-mistral"));
        Assert.That(info.GetProperty("model_dtype").GetString(), Is.EqualTo("float32"));
        Assert.That(info.GetProperty("model_sha").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null));
        Assert.That(info.GetProperty("model_type").GetProperty("embedding").GetProperty("pooling").GetString(), Is.EqualTo("last_token"));
        Assert.That(info.GetProperty("max_input_length").GetInt32(), Is.EqualTo(Fixtures.TinyModel.MaxTokens));
        Assert.That(info.GetProperty("max_concurrent_requests").GetInt32(), Is.EqualTo(7));
        Assert.That(info.GetProperty("max_client_batch_size").GetInt32(), Is.EqualTo(9));
        Assert.That(info.GetProperty("max_batch_tokens").GetInt32(), Is.EqualTo(Fixtures.TinyModel.GetOptions().MaxBatchTokens));
        Assert.That(info.GetProperty("max_batch_requests").GetInt32(), Is.EqualTo(Fixtures.TinyModel.GetOptions().MaxBatchSize));
        Assert.That(info.GetProperty("auto_truncate").GetBoolean(), Is.False);
        Assert.That(info.GetProperty("tokenization_workers").GetInt32(), Is.GreaterThan(0));
        Assert.That(info.GetProperty("version").GetString(), Is.Not.Empty);
        Assert.That(info.GetProperty("dimensions").GetInt32(), Is.EqualTo(64));
        Assert.That(info.GetProperty("normalize").GetBoolean(), Is.True);
    }

    [Test]
    public async Task Health_is_200_with_an_empty_body()
    {
        var response = await server.Client.GetAsync("/health");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty);
    }

    [Test]
    public async Task Health_is_503_once_the_host_is_stopping()
    {
        await using var host = await ServerHost.StartAsync(Fixtures.TinyModel);
        // Signals shutdown without stopping the in-memory server, as a host does before draining connections.
        host.Service<IHostApplicationLifetime>().StopApplication();
        await (await host.Client.GetAsync("/health")).TeiErrorAsync(HttpStatusCode.ServiceUnavailable, "Unhealthy");
    }
}
