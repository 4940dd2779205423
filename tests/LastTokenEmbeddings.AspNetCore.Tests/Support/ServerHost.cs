using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LastTokenEmbeddings.Embeddings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.AspNetCore.Tests.Support;

/// <summary>An embedding server over a model, in memory (TestServer) or on a loopback socket (Kestrel, port 0).</summary>
public sealed class ServerHost : IAsyncDisposable
{
    private ServerHost(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
    }

    /// <summary>The application.</summary>
    public WebApplication App { get; }

    /// <summary>A client whose base address is the server.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts a server over <paramref name="model"/> (the caller keeps owning the model).</summary>
    public static async Task<ServerHost> StartAsync(IEmbeddingModel model, Action<EmbeddingServerOptions>? configure = null, bool kestrel = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (kestrel)
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        else
            builder.WebHost.UseTestServer();
        builder.Services.AddEmbeddingServer(model, configure);
        var app = builder.Build();
        app.MapEmbeddings();
        await app.StartAsync();
        HttpClient client;
        if (kestrel)
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            client = new HttpClient { BaseAddress = new Uri(address) };
        }
        else
        {
            client = app.GetTestClient();
        }
        return new ServerHost(app, client);
    }

    /// <summary>A service of the server's container.</summary>
    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>POSTs a JSON body given as text.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string json, CancellationToken cancellationToken = default) =>
        Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);

    /// <summary>POSTs <paramref name="body"/> serialised as JSON.</summary>
    public Task<HttpResponseMessage> PostJsonAsync(string path, object body, CancellationToken cancellationToken = default) =>
        PostAsync(path, JsonSerializer.Serialize(body), cancellationToken);

    /// <summary>POSTs with an Authorization header.</summary>
    public async Task<HttpResponseMessage> PostWithAuthorizationAsync(string path, object body, string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (authorization is not null)
            request.Headers.Authorization = AuthenticationHeaderValue.Parse(authorization);
        return await Client.SendAsync(request);
    }

    /// <summary>Stops the server and releases the client.</summary>
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
    }
}

/// <summary>Reading responses in tests.</summary>
public static class Responses
{
    /// <summary>The body as JSON, asserting the status first (with the body in the failure message).</summary>
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), text);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>A JSON number array as floats.</summary>
    public static float[] Floats(this JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetSingle())];

    /// <summary>Base64 of little-endian float32 bytes, decoded.</summary>
    public static float[] Base64Floats(this JsonElement value)
    {
        var bytes = Convert.FromBase64String(value.GetString()!);
        var floats = new float[bytes.Length / sizeof(float)];
        for (var i = 0; i < floats.Length; i++)
            floats[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        return floats;
    }

    /// <summary>Asserts an OpenAI-style error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
    public static async Task<JsonElement> OpenAIErrorAsync(this HttpResponseMessage response, HttpStatusCode expected, string type = "invalid_request_error")
    {
        var json = await response.JsonAsync(expected);
        var error = json.GetProperty("error");
        Assert.That(error.GetProperty("message").GetString(), Is.Not.Empty);
        Assert.That(error.GetProperty("type").GetString(), Is.EqualTo(type));
        Assert.That(error.TryGetProperty("param", out _), Is.True, "param present (may be null)");
        Assert.That(error.TryGetProperty("code", out _), Is.True, "code present (may be null)");
        return error;
    }

    /// <summary>Asserts a TEI-style error body: <c>{"error","error_type"}</c>.</summary>
    public static async Task<JsonElement> TeiErrorAsync(this HttpResponseMessage response, HttpStatusCode expected, string errorType)
    {
        var json = await response.JsonAsync(expected);
        Assert.That(json.GetProperty("error").GetString(), Is.Not.Empty);
        Assert.That(json.GetProperty("error_type").GetString(), Is.EqualTo(errorType));
        return json;
    }
}

/// <summary>Float comparisons.</summary>
public static class Vectors
{
    /// <summary>Asserts two vectors have equal length and agree element-wise within <paramref name="tolerance"/>.</summary>
    public static void AssertClose(float[] actual, float[] expected, string what, double tolerance = 1e-5)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what + ": length");
        var worst = actual.Zip(expected, (a, e) => Math.Abs((double)a - e)).DefaultIfEmpty(0).Max();
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance), what + ": max abs difference");
    }
}
