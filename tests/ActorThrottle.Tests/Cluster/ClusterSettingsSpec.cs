using ActorThrottle.Configuration;
using Xunit;
using C = ActorThrottle.Tests.Configuration.TestConfig;

namespace ActorThrottle.Tests.Cluster;

public sealed class ClusterSettingsSpec
{
    [Fact]
    public void The_reference_leaves_cluster_mode_off()
    {
        var cluster = C.Parse("").Cluster;
        Assert.Equal(new ClusterSettings(false, "", 32, 0.5), cluster);
    }

    [Fact]
    public void Cluster_keys_are_read()
    {
        var cluster = C.Parse("""
            actor-throttle.cluster { enabled = on, role = "throttle", number-of-shards = 100, start-burst-fraction = 0.25 }
            """).Cluster;
        Assert.Equal(new ClusterSettings(true, "throttle", 100, 0.25), cluster);
        Assert.Empty(C.Parse("actor-throttle.cluster.enabled = on").UnknownKeys);
    }

    [Theory]
    [InlineData("actor-throttle.cluster.enabled = maybe", "actor-throttle.cluster.enabled")]
    [InlineData("actor-throttle.cluster.number-of-shards = 0", "actor-throttle.cluster.number-of-shards")]
    [InlineData("actor-throttle.cluster.start-burst-fraction = 0", "actor-throttle.cluster.start-burst-fraction")]
    [InlineData("actor-throttle.cluster.start-burst-fraction = 1.5", "actor-throttle.cluster.start-burst-fraction")]
    public void A_bad_cluster_value_names_its_path(string hocon, string path)
    {
        var e = C.ParseFails(hocon);
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void A_misspelt_cluster_key_is_reported_as_unknown()
    {
        var settings = C.Parse("actor-throttle.cluster { enable = on }");
        Assert.Equal(["actor-throttle.cluster.enable"], settings.UnknownKeys);
        Assert.False(settings.Cluster.Enabled);
    }
}
