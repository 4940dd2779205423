using System.Net;
using System.Text.Json;
using LastTokenEmbeddings.AspNetCore.Tests.Support;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary><c>POST /v1/embeddings</c> gives the library's vectors, in OpenAI's shapes.</summary>
public class OpenAIEmbeddingsTests
{
    private ServerHost server = null!;

    [OneTimeSetUp]
    public async Task Start() => server = await ServerHost.StartAsync(Fixtures.TinyModel);

    [OneTimeTearDown]
    public async Task Stop() => await server.DisposeAsync();

    [Test]
    public async Task Float_vectors_equal_the_library()
    {
        var expected = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts);
        var json = await (await server.PostJsonAsync("/v1/embeddings", new { input = Fixtures.Texts, model = "tiny-mistral" })).JsonAsync(HttpStatusCode.OK);

        Assert.That(json.GetProperty("object").GetString(), Is.EqualTo("list"));
        Assert.That(json.GetProperty("model").GetString(), Is.EqualTo("tiny-mistral"));
        var data = json.GetProperty("data");
        Assert.That(data.GetArrayLength(), Is.EqualTo(Fixtures.Texts.Length));
        for (var i = 0; i < Fixtures.Texts.Length; i++)
        {
            Assert.That(data[i].GetProperty("object").GetString(), Is.EqualTo("embedding"));
            Assert.That(data[i].GetProperty("index").GetInt32(), Is.EqualTo(i));
            Vectors.AssertClose(data[i].GetProperty("embedding").Floats(), expected[i].Vector, $"text {i}");
        }
        var tokens = expected.Sum(e => e.TokenCount);
        Assert.That(json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), Is.EqualTo(tokens));
        Assert.That(json.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(tokens));
    }

    [Test]
    public async Task A_single_string_is_one_input()
    {
        var expected = await Fixtures.TinyModel.EmbedAsync("What is GPU?");
        var json = await (await server.PostJsonAsync("/v1/embeddings", new { input = "What is GPU?" })).JsonAsync(HttpStatusCode.OK);
        Assert.That(json.GetProperty("data").GetArrayLength(), Is.EqualTo(1));
        Vectors.AssertClose(json.GetProperty("data")[0].GetProperty("embedding").Floats(), expected.Vector, "single");
    }

    [Test]
    public async Task Base64_is_little_endian_float32_of_the_same_vectors()
    {
        var expected = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts);
        var json = await (await server.PostJsonAsync("/v1/embeddings", new { input = Fixtures.Texts, encoding_format = "base64" })).JsonAsync(HttpStatusCode.OK);
        var data = json.GetProperty("data");
        for (var i = 0; i < Fixtures.Texts.Length; i++)
        {
            Vectors.AssertClose(data[i].GetProperty("embedding").Base64Floats(), expected[i].Vector, $"text {i}");
        }
    }

    [Test]
    public async Task Dimensions_truncate_then_renormalise_as_the_library_does()
    {
        using var cut = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { Dimensions = 16 });
        var expected = await cut.EmbedAsync(Fixtures.Texts);
        var json = await (await server.PostJsonAsync("/v1/embeddings", new { input = Fixtures.Texts, dimensions = 16 })).JsonAsync(HttpStatusCode.OK);
        for (var i = 0; i < Fixtures.Texts.Length; i++)
        {
            var vector = json.GetProperty("data")[i].GetProperty("embedding").Floats();
            Vectors.AssertClose(vector, expected[i].Vector, $"text {i}");
            Assert.That(Math.Sqrt(vector.Sum(v => (double)v * v)), Is.EqualTo(1).Within(1e-5));
        }
    }

    [Test]
    public async Task Token_id_inputs_embed_as_given()
    {
        var ids = Fixtures.Texts.Take(3).Select(text => Fixtures.TinyModel.Tokenize(text)).ToArray();
        var fromText = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts.Take(3).ToArray());

        var many = await (await server.PostJsonAsync("/v1/embeddings", new { input = ids })).JsonAsync(HttpStatusCode.OK);
        var one = await (await server.PostJsonAsync("/v1/embeddings", new { input = ids[1] })).JsonAsync(HttpStatusCode.OK);

        for (var i = 0; i < ids.Length; i++)
            Vectors.AssertClose(many.GetProperty("data")[i].GetProperty("embedding").Floats(), fromText[i].Vector, $"ids {i}");
        Assert.That(one.GetProperty("data").GetArrayLength(), Is.EqualTo(1));
        Vectors.AssertClose(one.GetProperty("data")[0].GetProperty("embedding").Floats(), fromText[1].Vector, "one id sequence");
        Assert.That(many.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), Is.EqualTo(ids.Sum(x => x.Length)));
    }

    [Test]
    public async Task Texts_and_token_ids_may_mix()
    {
        var ids = Fixtures.TinyModel.Tokenize(Fixtures.Texts[0]);
        var body = $$"""{"input": [{{JsonSerializer.Serialize(ids)}}, {{JsonSerializer.Serialize(Fixtures.Texts[1])}}]}""";
        var json = await (await server.PostAsync("/v1/embeddings", body)).JsonAsync(HttpStatusCode.OK);
        var expected = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts[..2]);
        Vectors.AssertClose(json.GetProperty("data")[0].GetProperty("embedding").Floats(), expected[0].Vector, "ids");
        Vectors.AssertClose(json.GetProperty("data")[1].GetProperty("embedding").Floats(), expected[1].Vector, "text");
    }

    [Test]
    public async Task Model_name_must_match_when_given()
    {
        var wrong = await server.PostJsonAsync("/v1/embeddings", new { input = "x", model = "text-embedding-3-small" });
        var error = await wrong.OpenAIErrorAsync(HttpStatusCode.NotFound);
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("model_not_found"));
        Assert.That(error.GetProperty("param").GetString(), Is.EqualTo("model"));

        await (await server.PostJsonAsync("/v1/embeddings", new { input = "x", model = (string?)null })).JsonAsync(HttpStatusCode.OK);
    }

    [Test]
    public async Task Any_model_name_is_accepted_when_configured()
    {
        await using var lenient = await ServerHost.StartAsync(Fixtures.TinyModel, o => { o.RequireMatchingModelName = false; o.ServedModelName = "my-embedder"; });
        var json = await (await lenient.PostJsonAsync("/v1/embeddings", new { input = "x", model = "text-embedding-3-small" })).JsonAsync(HttpStatusCode.OK);
        Assert.That(json.GetProperty("model").GetString(), Is.EqualTo("my-embedder"));
    }

    [TestCase("""{"input": "x", "encoding_format": "int8"}""", "encoding_format")]
    [TestCase("""{"input": "x", "dimensions": 0}""", "dimensions")]
    [TestCase("""{"input": "x", "dimensions": 65}""", "dimensions")]
    [TestCase("""{"input": "x", "dimensions": "8"}""", "dimensions")]
    [TestCase("""{"input": 5}""", "input")]
    [TestCase("""{"input": [[1, -2]]}""", "input[0]")]
    [TestCase("""{"input": [[]]}""", "input[0]")]
    [TestCase("""{"input": [[99999999]]}""", "input")]
    [TestCase("""{"input": ["a", null]}""", "input")]
    [TestCase("""{"inputs": "x"}""", "input")]
    [TestCase("""{"input": "x", "input_type": "question"}""", "input_type")]
    public async Task Invalid_fields_are_400_naming_the_field(string body, string param)
    {
        var error = await (await server.PostAsync("/v1/embeddings", body)).OpenAIErrorAsync(HttpStatusCode.BadRequest);
        Assert.That(error.GetProperty("param").GetString(), Is.EqualTo(param));
    }

    [Test]
    public async Task Empty_input_list_is_400()
    {
        await (await server.PostAsync("/v1/embeddings", """{"input": []}""")).OpenAIErrorAsync(HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task Over_long_input_is_refused_unless_auto_truncate()
    {
        using var shortModel = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { MaxTokens = 8 });
        var longText = Fixtures.Texts[^1];
        await using (var strict = await ServerHost.StartAsync(shortModel))
        {
            var error = await (await strict.PostJsonAsync("/v1/embeddings", new { input = longText })).OpenAIErrorAsync(HttpStatusCode.BadRequest);
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("context_length_exceeded"));
            Assert.That(error.GetProperty("message").GetString(), Does.Contain("8 tokens"));
            await (await strict.PostJsonAsync("/v1/embeddings", new { input = new[] { Enumerable.Range(3, 9).ToArray() } })).OpenAIErrorAsync(HttpStatusCode.BadRequest);
        }
        await using var lenient = await ServerHost.StartAsync(shortModel, o => o.AutoTruncate = true);
        var json = await (await lenient.PostJsonAsync("/v1/embeddings", new { input = longText })).JsonAsync(HttpStatusCode.OK);
        var expected = await shortModel.EmbedAsync([longText], new EmbeddingCallOptions { Truncation = TruncationPolicy.Truncate });
        Vectors.AssertClose(json.GetProperty("data")[0].GetProperty("embedding").Floats(), expected[0].Vector, "truncated");
        Assert.That(json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), Is.EqualTo(8));
    }

    [Test]
    public async Task Input_type_and_header_choose_the_role()
    {
        using var e5 = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { Prompt = PromptFormat.E5Instruct() });
        await using var host = await ServerHost.StartAsync(e5);
        var texts = Fixtures.Texts[..2];
        var queries = await e5.EmbedAsync(texts, TextRole.Query);
        var documents = await e5.EmbedAsync(texts, TextRole.Document);
        Assert.That(queries[0].Vector, Is.Not.EqualTo(documents[0].Vector), "the format treats roles differently");

        var byDefault = await (await host.PostJsonAsync("/v1/embeddings", new { input = texts })).JsonAsync(HttpStatusCode.OK);
        var byField = await (await host.PostJsonAsync("/v1/embeddings", new { input = texts, input_type = "document" })).JsonAsync(HttpStatusCode.OK);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embeddings")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { input = texts }), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Input-Type", "search_document");
        var byHeader = await (await host.Client.SendAsync(request)).JsonAsync(HttpStatusCode.OK);

        for (var i = 0; i < texts.Length; i++)
        {
            Vectors.AssertClose(byDefault.GetProperty("data")[i].GetProperty("embedding").Floats(), queries[i].Vector, $"default {i}");
            Vectors.AssertClose(byField.GetProperty("data")[i].GetProperty("embedding").Floats(), documents[i].Vector, $"field {i}");
            Vectors.AssertClose(byHeader.GetProperty("data")[i].GetProperty("embedding").Floats(), documents[i].Vector, $"header {i}");
        }
    }

    [Test]
    public async Task Models_lists_the_served_model()
    {
        var json = await (await server.Client.GetAsync("/v1/models")).JsonAsync(HttpStatusCode.OK);
        Assert.That(json.GetProperty("object").GetString(), Is.EqualTo("list"));
        Assert.That(json.GetProperty("data")[0].GetProperty("id").GetString(), Is.EqualTo("tiny-mistral"));
        Assert.That(json.GetProperty("data")[0].GetProperty("object").GetString(), Is.EqualTo("model"));
    }
}
